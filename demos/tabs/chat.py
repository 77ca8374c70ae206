"""Chat: a tutor on generative architectures, grounded in the explainer's notes, in the user's language."""

from __future__ import annotations

import gradio as gr

from demos.common import bind, origin, user_errors
from hub.types import ChatMessage, TutorRequest


async def chat(hub, message, history, request: gr.Request):
    """Ask the tutor about GANs, VAEs, RNNs/LSTMs, transformers, autoregressive or diffusion models, or the
    text-to-image systems (DALL·E, Midjourney, Stable Diffusion, Kandinsky, CLIP) and their limits.

    Args:
        message: the question, in English or Spanish
        history: the conversation so far
    """
    turns = tuple(
        ChatMessage(m["role"], m["content"] if isinstance(m["content"], str) else str(m["content"]))
        for m in (history or [])[-6:]
        if m.get("role") in ("user", "assistant")
    )
    with user_errors():
        async for text in hub.ask_tutor(TutorRequest(message or "", turns, origin=origin(request))):
            yield text


def build(hub, t) -> None:
    gr.Markdown(t("chat_intro"))
    gr.Markdown(f"`{hub.chat_model}`" if hub.chat_model else t("chat_no_model"))
    gr.ChatInterface(
        bind(hub, chat),
        api_name="chat",
        chatbot=gr.Chatbot(label=t("chat_label"), height=420),
        textbox=gr.Textbox(placeholder=t("chat_placeholder"), label=t("chat_box"), show_label=False, scale=7),
        examples=[t("chat_example_1"), t("chat_example_2"), t("chat_example_3")],
        concurrency_limit=None,
    )  # the Hub's queue orders chat turns with every other job
