"""Text generation through transformers: chat with the model's chat template, streamed; prompt expansion."""

from __future__ import annotations

import threading
from collections.abc import Callable

import torch
from transformers import StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from hub.errors import Cancelled
from hub.loading import Placement

EXPAND_SYSTEM = (
    "You turn a short idea into one vivid prompt for a text-to-image model. Keep the user's subject and "
    "language; add setting, composition, lighting, colours and style. Answer with the prompt only, "
    "one sentence, no quotes."
)


class _Stream(BaseStreamer):
    """Decodes the new tokens as they come and hands the text so far to `on_text`."""

    def __init__(self, tokenizer, on_text: Callable[[str], None] | None):
        self.tokenizer, self.on_text = tokenizer, on_text
        self.ids: list[int] = []
        self.prompt_seen = False
        self.text = ""

    def put(self, value):
        if not self.prompt_seen:  # generate() first puts the prompt
            self.prompt_seen = True
            return
        self.ids += value.reshape(-1).tolist()
        self.text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if self.on_text is not None:
            self.on_text(self.text)

    def end(self):
        pass


class _Stop(StoppingCriteria):
    def __init__(self, should_stop: Callable[[], bool]):
        self.should_stop = should_stop

    def __call__(self, input_ids, scores, **kwargs):
        if self.should_stop():
            raise Cancelled("cancelled")
        return False


class TextEngine:
    def __init__(self, model, tokenizer, placement: Placement):
        self.model = model.to(placement.device).eval()
        self.tokenizer = tokenizer
        self.device = placement.device
        self._lock = threading.Lock()

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def generate(
        self,
        messages: list[dict],
        max_new_tokens: int = 400,
        temperature: float = 0.7,
        seed: int | None = None,
        on_text: Callable[[str], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> str:
        """Chat messages ([{"role", "content"}]) -> the assistant's reply, streamed through on_text."""
        if self.has_chat_template:
            inputs = self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
        else:  # a plain language model (mini-text): continue the last message
            inputs = self.tokenizer(messages[-1]["content"], return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        stream = _Stream(self.tokenizer, on_text)
        with self._lock, torch.no_grad():
            if seed is not None:
                torch.manual_seed(seed)
            sample = temperature > 0
            self.model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=sample,
                temperature=temperature if sample else None,
                top_p=0.95 if sample else None,
                streamer=stream,
                stopping_criteria=StoppingCriteriaList([_Stop(should_stop)]),
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        return stream.text.strip()

    def expand(
        self,
        prompt: str,
        max_new_tokens: int = 60,
        seed: int | None = None,
        on_text: Callable[[str], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> str:
        if self.has_chat_template:
            messages = [{"role": "system", "content": EXPAND_SYSTEM}, {"role": "user", "content": prompt}]
            return self.generate(messages, max_new_tokens, 0.7, seed, on_text, should_stop)
        tail = self.generate([{"role": "user", "content": prompt}], max_new_tokens, 0.7, seed, on_text, should_stop)
        return f"{prompt.strip()} {tail}".strip()
