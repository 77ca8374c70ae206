"""Chat: a tutor on generative architectures, grounded in the explainer's notes, in the user's language."""

from __future__ import annotations

import gradio as gr

from demos.common import origin, start
from hub.explainer import TEXTS
from hub.tutor import Library, detect_language, offline_answer, system_prompt
from hub.types import ChatMessage, ChatRequest


def build(hub, t) -> None:
    library = Library(TEXTS)

    async def chat(message, history, request: gr.Request):
        """Ask the tutor about GANs, VAEs, RNNs/LSTMs, transformers, autoregressive or diffusion models.

        Args:
            message: the question, in English or Spanish
            history: the conversation so far
        """
        if not (message or "").strip():
            raise gr.Error("write a question first")
        lang = detect_language(message)
        passages = library.search(message, lang)
        if hub.chat_model is None:  # no language model here: the notes themselves, honestly labelled
            yield offline_answer(message, passages, lang)
            return
        turns = [ChatMessage(m["role"], m["content"] if isinstance(m["content"], str) else str(m["content"]))
                 for m in (history or [])[-6:] if m.get("role") in ("user", "assistant")]
        messages = (ChatMessage("system", system_prompt(passages, lang)), *turns, ChatMessage("user", message))
        job = await start(hub.chat(ChatRequest(messages, origin=origin(request))))
        async for event in job.events():
            if event.text:
                yield event.text
        result = await start(job.result())
        sources = "; ".join(p.citation for p in passages)
        yield result.text + (f"\n\n*{sources}*" if sources else "")

    mode = (f"`{hub.chat_model}`" if hub.chat_model else
            "no language model here: answers quote the course notes / sin modelo de lenguaje: responde con los apuntes")
    gr.Markdown(t("chat_intro"))
    gr.Markdown(mode)
    gr.ChatInterface(chat, api_name="chat", examples=["What is mode collapse?", "How does Kandinsky mix images?",
                                                      "¿Por qué son borrosas las imágenes de un VAE?"],
                     concurrency_limit=None)  # the Hub's queue orders chat turns with every other job
