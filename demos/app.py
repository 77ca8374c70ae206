"""The web hub: build_app(hub) -> gr.Blocks with one tab per module in demos/tabs/."""

from __future__ import annotations

import gradio as gr

from demos.i18n import STRINGS
from demos.tabs import chat, compare, generate, history, mix


def build_app(hub) -> tuple[gr.Blocks, gr.I18n]:
    """The Blocks app and its translations (pass both to `launch`)."""
    i18n = gr.I18n(**STRINGS)
    with gr.Blocks(title="Lienzo") as demo:
        gr.Markdown(i18n("title"))
        gr.Markdown(f"`{hub.default_image_model}` · " + " · ".join(
            f"{s.name}: {a.status}" for s, a in hub.models() if s.name == hub.default_image_model))
        with gr.Tabs():
            with gr.Tab(i18n("tab_generate"), id="generate"):
                fields = generate.build(hub, i18n)
            with gr.Tab(i18n("tab_mix"), id="mix"):
                mix.build(hub, i18n)
            with gr.Tab(i18n("tab_chat"), id="chat"):
                chat.build(hub, i18n)
            with gr.Tab(i18n("tab_history"), id="history"):
                history.build(hub, i18n, fields)
            with gr.Tab(i18n("tab_compare"), id="compare"):
                compare.build(hub, i18n)
    demo.queue(max_size=hub.settings.max_queue)
    return demo, i18n


def launch(hub, host: str = "127.0.0.1", port: int = 7860, share: bool = False, mcp: bool = False,
           block: bool = True):
    demo, i18n = build_app(hub)
    demo.launch(server_name=host, server_port=port, share=share, mcp_server=mcp, i18n=i18n,
                prevent_thread_lock=not block, show_error=True)
    return demo
