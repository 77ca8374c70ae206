"""Inpainting that starts from the canvas instead of pure noise: A1111's "masked content: fill" at a denoising
strength below 1, for diffusers' Kandinsky 2.2 inpainting pipeline, which has no `strength` of its own.

Zoom Out and Pan put the picture on a canvas whose border is already filled (hub/edits.py: the picture's edge
colour). At strength 1 that fill is thrown away: the border starts as pure noise and only the embedding says what
goes there. At a strength s < 1 the run leaves out the first (1 - s) of its steps and starts from the canvas noised
to the step it starts at, so the border keeps the fill's colour and the steps left draw its detail. On the bundled
mini, zoomed out 2x and 1.5x (`eval-mini --edits`, 96 + 96 held-out scenes, 2 images), the border showed the
picture's background in 100/100% (en/es) at 0.7 against 91.7/91.7% from pure noise (docs/BENCHMARKS.md, session 25).

The pipeline re-noises the kept area at every step with the noise its starting latents were made of, and takes the
starting latents themselves as that noise. Starting from a noised canvas would re-noise the kept area with the canvas
in it, so each step's kept area is put back here, noised with the starting noise alone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from diffusers.pipelines.kandinsky2_2.pipeline_kandinsky2_2_inpainting import prepare_mask_and_masked_image
from diffusers.utils.torch_utils import randn_tensor

from hub.engines.common import generators, steps_run

FILL_SALT = 0x5BD1E995  # the starting noise of a filled start draws from the image's seed + this


@functools.cache
def _skipping(cls):
    """`cls` whose set_timesteps leaves out the schedule's first `skip` steps: the schedule as if it began there.
    diffusers' img2img pipelines loop over a slice of the timesteps and set the solver's begin index; the inpainting
    pipeline loops over the scheduler's own timesteps, so they are sliced here, and a solver's sigmas with them
    (its step index counts from the first step kept, and its last steps are the schedule's last)."""

    def set_timesteps(self, num_inference_steps, *args, **kwargs):
        cls.set_timesteps(self, num_inference_steps, *args, **kwargs)
        start = self.skip * getattr(self, "order", 1)
        self.timesteps = self.timesteps[start:]
        if getattr(self, "sigmas", None) is not None:
            self.sigmas = self.sigmas[start:]

    return type(cls.__name__, (cls,), {"set_timesteps": set_timesteps, "skip": 0, "__module__": __name__})


def from_canvas(strength: float, seeds: list[int], steps: int) -> Callable[[object, dict], None]:
    """A `prepare` for common.call_pipeline: once the task's scheduler is in place, swap in a copy that skips the
    first steps, and give the call starting latents (the canvas's, noised to where it starts) and a step callback
    that re-noises the kept area with the starting noise (see the module's docstring)."""

    def prepare(pipe, kwargs: dict) -> None:
        scheduler = _skipping(type(pipe.scheduler)).from_config(pipe.scheduler.config)
        scheduler.skip = steps - steps_run(steps, strength)
        pipe.scheduler = scheduler
        n = len(seeds)
        _, image = prepare_mask_and_masked_image(
            kwargs["image"][:1], kwargs["mask_image"][:1], kwargs["height"], kwargs["width"]
        )
        movq = pipe.movq
        with torch.no_grad():
            canvas = movq.encode(image.to(movq.device, movq.dtype))["latents"]
        noise = randn_tensor(
            (n, *canvas.shape[1:]), generator=generators(seeds, FILL_SALT), device=canvas.device, dtype=canvas.dtype
        )
        scheduler.set_timesteps(steps, device=canvas.device)
        timesteps, canvases = scheduler.timesteps, canvas.expand(n, -1, -1, -1)
        start = scheduler.add_noise(canvases, noise, timesteps[:1].repeat(n))
        then = kwargs["callback_on_step_end"]

        def callback(p, i, t, tensors):
            keep = tensors.pop("mask_image")[:1]
            if i < len(timesteps) - 1:
                kept = scheduler.add_noise(canvases, noise, timesteps[i + 1 : i + 2].repeat(n))
            else:
                kept = canvas
            tensors["latents"] = keep * kept + (1 - keep) * tensors["latents"]
            return then(p, i, t, tensors)

        kwargs.update(
            num_inference_steps=steps,
            latents=start / scheduler.init_noise_sigma,  # the pipeline scales its latents by this
            callback_on_step_end=callback,
            callback_on_step_end_tensor_inputs=["latents", "mask_image"],
        )

    return prepare
