"""The Gradio web hub. Talks only to `hub.service.Hub` with `hub.types` dataclasses."""
