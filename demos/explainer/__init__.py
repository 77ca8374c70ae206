"""Tiny live models for the explainer tab: one file each, plain PyTorch on a CPU."""
