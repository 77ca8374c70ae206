"""Compare: DALL·E 3, Midjourney, Stable Diffusion and Kandinsky side by side (en/es)."""

from __future__ import annotations

import gradio as gr


def build(hub, t) -> None:
    gr.Markdown(t("compare_md"), elem_classes=["lienzo-table"])
