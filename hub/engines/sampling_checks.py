"""Sampling checks against hidden objects: a picture whose background is painted in a named object's colour.

Mixed into KandinskyEngine: `redraw_hidden` reads each sample (a prior embedding, or a decoded picture read by the
model's CLIP) against the prompt on each background its guard lists (hub.mini.guard) and draws the ones that read
as a hiding background again; `_redecode` is a decoder call's redraw. The engine supplies `text_embeds`,
`run_prior`, `_final` and `_decode`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from hub.engines.common import ImageTask, call_pipeline, generators

NEGATIVE_SALT = 0x9E3779B9  # negative-prompt rows draw their own noise, derived from the image's seed
PART_SALT = 1_000_003  # the k-th text of a multi-prompt uses seed + k * PART_SALT
REDRAW_SALT = 0x2545F491  # the n-th redraw of a prior sample (redraw_hidden) uses its row's seed + n * REDRAW_SALT


class HiddenObjectChecks:
    """KandinskyEngine's sampling checks (a mixin: it reads the engine's encoders and pipelines)."""

    @torch.no_grad()
    def redraw_hidden(self, samples, checks: list, again: Callable[[list[int], int], Any], read=None):
        """The sampling check against hidden objects: row r's sample (a prior embedding, or with `read` a decoded
        picture, read into one by the model's CLIP) is compared by cosine with the prompt on each background
        (`checks[r]`: hiding texts, free texts, redraws). While it is nearer to a background in a named object's
        colour than to every free one, it is drawn again (`again(rows, attempt)`), up to `redraws` times, and the
        draw read most clearly as a free background is kept. On the bundled mini, unguarded, the prior's reading
        flagged 77 of 86 pictures whose background hid an object (and 65 of 298 others) on 48 + 48 prompts, 4 images
        each; the pictures' own reading flagged all 9 that still hid one among 332 of prompts that name their
        background (and 4 others), whose prior samples read right (docs/BENCHMARKS.md)."""
        rows = [r for r, c in enumerate(checks) if c]
        if not rows:
            return samples
        unique = sorted({t for r in rows for t in (*checks[r][0], *checks[r][1])})
        index = {t: i for i, t in enumerate(unique)}
        text = F.normalize(self.text_embeds(unique).float(), dim=-1)

        def margins(rs, drawn):  # nearest free background's cosine less the nearest hiding one's, per row
            embeds = drawn if read is None else read(list(drawn))
            cos = F.normalize(embeds.float(), dim=-1) @ text.T
            return [
                (max(cos[j, index[t]] for t in checks[r][1]) - max(cos[j, index[t]] for t in checks[r][0])).item()
                for j, r in enumerate(rs)
            ]

        out = samples.clone() if torch.is_tensor(samples) else list(samples)
        first = samples[rows] if torch.is_tensor(samples) else [samples[r] for r in rows]
        margin = dict(zip(rows, margins(rows, first)))
        for attempt in range(1, max(checks[r][2] for r in rows) + 1):
            flagged = [r for r in rows if margin[r] < 0 and attempt <= checks[r][2]]
            if not flagged:
                break
            drawn = again(flagged, attempt)
            for j, (r, m) in enumerate(zip(flagged, margins(flagged, drawn))):
                if m > margin[r]:
                    out[r], margin[r] = drawn[j], m
        return out

    @staticmethod
    def _image_checks(tasks: list[ImageTask]) -> list:
        """Each image's sampling check on its decoded picture: (hiding, free, redraws) of its task's one text, or
        None. The prior's check misses a background the decoder paints in an object's colour from a sample that
        reads right (on the bundled mini, most of those left: prompts that name their background)."""
        return [part_check(t, 0) if len(t.parts) == 1 else None for t in tasks for _ in t.seeds]

    def _redecode(
        self, pipe, kwargs, seeds, rows, attempt, task, default_scheduler, callback, checks, negatives
    ) -> list[Image.Image]:
        """Rows `rows` of a decoder call drawn again with fresh noise (the n-th redraw's seeds salted as the prior's
        are), decoded as the first draw was but steered from the background that hid an object: each row's negative
        image embedding is the prior's embedding of its hiding texts (`checks[r][0]`; with the row's own negative
        prompt, `negatives[r]`, the mean of both), at guidance raised by the first's for each redraw (where the
        decoder uses guidance at all). Fresh noise alone left the decoder painting the same hiding background
        (docs/BENCHMARKS.md, session 21)."""
        negative = kwargs["negative_image_embeds"][rows].clone()
        hiding = [checks[r][0] for r in rows]
        texts = [t for h in hiding for t in h] if kwargs["guidance_scale"] > 1 else []  # a distilled draft: no CFG
        if texts:
            gens = generators(
                [seeds[r] + NEGATIVE_SALT + j * PART_SALT for r, h in zip(rows, hiding) for j in range(len(h))],
                salt=attempt * REDRAW_SALT,
            )
            steps, guidance = task.prior_num_inference_steps, task.prior_guidance_scale
            unconds = [negatives[r] for r, h in zip(rows, hiding) for _ in h]
            away = self.run_prior(texts, unconds, gens, steps, guidance, solver=task.prior_scheduler)
            away = away.split([len(h) for h in hiding])
            for j, (r, emb) in enumerate(zip(rows, away)):
                negative[j] = (emb.mean(0) + negative[j]) / 2 if negatives[r] else emb.mean(0)
        again = dict(
            kwargs,
            image_embeds=kwargs["image_embeds"][rows],
            negative_image_embeds=negative,
            guidance_scale=kwargs["guidance_scale"] * (1 + attempt) if texts else kwargs["guidance_scale"],
            generator=generators([seeds[r] for r in rows], salt=attempt * REDRAW_SALT),
            callback_on_step_end=callback,
        )
        if "image" in again:
            again["image"] = [again["image"][r] for r in rows]
        latents, _ = call_pipeline(pipe, again, task, default_scheduler, pipe.movq, self._decode)
        return self._final(pipe, latents, fast=task.fast_decode)


def part_check(task: ImageTask, k: int) -> tuple | None:
    """Part k's sampling check against hidden objects, (hiding texts, free texts, redraws), or None without one."""
    if task.redraws and k < len(task.recheck) and task.recheck[k][0]:
        return (*task.recheck[k], task.redraws)
    return None
