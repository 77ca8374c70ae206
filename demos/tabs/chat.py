"""Chat: a tutor on generative architectures, grounded in the explainer's notes, in the user's language."""

from __future__ import annotations

import gradio as gr

from demos.common import bind, origin, user_errors
from hub.types import ChatMessage, TutorRequest


async def chat(hub, message, history, request: gr.Request):
    """Ask the tutor about GANs, VAEs, RNNs/LSTMs, transformers, autoregressive or diffusion models.

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
    mode = (
        f"`{hub.chat_model}`"
        if hub.chat_model
        else "no language model here: answers quote the course notes / sin modelo de lenguaje: responde con los apuntes"
    )
    gr.Markdown(t("chat_intro"))
    gr.Markdown(mode)
    gr.ChatInterface(
        bind(hub, chat),
        api_name="chat",
        examples=[
            "What is mode collapse?",
            "How does Kandinsky mix images?",
            "¿Por qué son borrosas las imágenes de un VAE?",
        ],
        concurrency_limit=None,
    )  # the Hub's queue orders chat turns with every other job
