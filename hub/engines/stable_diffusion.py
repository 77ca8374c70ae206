"""Stable Diffusion 1.5 / SDXL / SDXL-Turbo (and other AutoPipeline models) through diffusers.

Text encoder -> UNet denoising VAE latents, conditioned on the text at every step (no prior, no
image embedding: so no Kandinsky-style mixing). Each model's recommended defaults come from the
catalog (Turbo: 1-4 steps, guidance 0).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import torch
from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting
from PIL import Image

from hub.engines.common import (
    ImageTask,
    Progress,
    call_pipeline,
    generators,
    keep_own_size,
    only_masked,
    paste_kept_all,
    step_callback,
    steps_run,
    to_pil,
    uncropped,
)
from hub.errors import CapabilityError
from hub.loading import Placement, place


class StableDiffusionEngine:
    def __init__(self, components: dict, placement: Placement, preview_every: int = 5):
        components = dict(components)
        cls = components.pop("_class")
        self.text2img = place(cls(**components), placement)
        self.img2img = place(AutoPipelineForImage2Image.from_pipe(self.text2img), placement)
        keep_own_size(self.img2img)
        self._inpaint = None  # AutoPipelineForInpainting on the same components, made on the first edit
        self.placement = placement
        self.preview_every = preview_every
        self._default_scheduler = self.text2img.scheduler
        self._lock = threading.Lock()

    @property
    def size_multiple(self) -> int:
        return getattr(self.text2img, "vae_scale_factor", 8)

    @property
    def tokenizer(self):
        """The tokenizer of the text encoder that reads the prompt (its window is what a prompt may use)."""
        return self.text2img.tokenizer

    @property
    def sampler(self) -> str:
        """The pipeline's own scheduler class: what "default" means in a request."""
        return type(self._default_scheduler).__name__

    def generate(
        self, tasks: list[ImageTask], progress: Progress | None = None, should_stop: Callable[[], bool] = lambda: False
    ) -> list[list[Image.Image]]:
        first = tasks[0]
        if any(t.images for t in tasks) or any(len(t.parts) > 1 for t in tasks):
            raise CapabilityError("this model cannot mix images or weighted texts (:: weights); use a Kandinsky model")
        counts = [len(t.seeds) for t in tasks]
        starts = [sum(counts[:i]) for i in range(len(counts))]
        prompts = [t.parts[0][0] for t in tasks for _ in t.seeds]
        negatives = [t.negative_prompt for t in tasks for _ in t.seeds]
        seeds = [s for t in tasks for s in t.seeds]
        if first.mask_image is not None:
            return self._edit(tasks, progress, should_stop)
        pipe = self.text2img if first.init_image is None else self.img2img
        steps = first.num_inference_steps
        total = steps if first.init_image is None else max(1, int(steps * first.strength))
        stop_at = None if first.stop in (None, 100) else max(1, total * first.stop // 100)

        wanted = [s for s, t in zip(starts, tasks) if t.preview]

        def preview(latents):
            shots = iter(_decode_all(pipe, latents[wanted]))
            return [next(shots) if t.preview else None for t in tasks]

        kwargs = dict(
            prompt=prompts,
            height=first.height,
            width=first.width,
            num_inference_steps=steps,
            guidance_scale=first.guidance_scale,
            generator=generators(seeds),
            callback_on_step_end=step_callback(
                "decoder", 0, total, progress, should_stop, preview if wanted else None, self.preview_every, stop_at
            ),
        )
        if any(negatives) and first.guidance_scale > 1:
            kwargs["negative_prompt"] = negatives
        if first.init_image is not None:
            kwargs["image"] = [
                t.init_image.convert("RGB").resize((first.width, first.height)) for t in tasks for _ in t.seeds
            ]
            kwargs["strength"] = first.strength
        with self._lock, torch.no_grad():
            images, _ = call_pipeline(
                pipe, kwargs, first, self._default_scheduler, pipe.vae, lambda latents: _decode_all(pipe, latents)
            )
        return [images[s : s + n] for s, n in zip(starts, counts)]

    def _edit(self, tasks, progress, should_stop) -> list[list[Image.Image]]:
        """Inpainting (Vary Region, Zoom Out, Pan) one task a call, its canvas repeated for each seed; the kept
        pixels put back exactly afterwards; a small region repainted "only masked" (common.only_masked). A checkpoint
        with a 9-channel inpainting UNet is used as such; the text model's own 4-channel UNet inpaints by re-noising
        the kept area at every step (diffusers' fallback)."""
        if self._inpaint is None:
            self._inpaint = place(AutoPipelineForInpainting.from_pipe(self.text2img), self.placement)
        pipe = self._inpaint
        steps = tasks[0].num_inference_steps
        runs = [steps_run(steps, t.strength) for t in tasks]  # below 1: from the canvas noised part way (A1111's fill)
        total = sum(runs)
        out = []
        for k, whole in enumerate(tasks):
            n = len(whole.seeds)
            task, box = only_masked(whole)  # a small region: only its surroundings, at the full size
            kwargs = dict(
                prompt=[task.parts[0][0]] * n,
                image=[task.init_image.convert("RGB")] * n,
                mask_image=[task.mask_image.convert("L")] * n,
                height=task.height,
                width=task.width,
                strength=task.strength,
                num_inference_steps=steps,
                guidance_scale=task.guidance_scale,
                generator=generators(task.seeds),
                callback_on_step_end=step_callback("decoder", sum(runs[:k]), total, progress, should_stop),
            )
            if task.negative_prompt and task.guidance_scale > 1:
                kwargs["negative_prompt"] = [task.negative_prompt] * n
            with self._lock, torch.no_grad():
                images, _ = call_pipeline(
                    pipe, kwargs, task, self._default_scheduler, pipe.vae, lambda z: _decode_all(pipe, z)
                )
            out.append(paste_kept_all(uncropped(images, whole, box), whole))
        return out


@torch.no_grad()
def _decode_all(pipe, latents: torch.Tensor) -> list[Image.Image]:
    vae = pipe.vae
    return to_pil(vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor).sample)
