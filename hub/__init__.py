"""Lienzo's shared inference core. Front ends talk to `hub.service.Hub` with `hub.types` dataclasses."""

__version__ = "0.1.0"
