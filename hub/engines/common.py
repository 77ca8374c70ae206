"""What the image engines share: the task they run, seeds, the step callback, seamless tiling."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from hub.errors import Cancelled, InvalidRequest, shown
from hub.types import SCHEDULERS
from hub.work import SEED_MOD, ImageTask  # noqa: F401  (the engines' task, defined torch-free)

# progress(stage, step, total, preview_per_task or None)
Progress = Callable[[str, int, int, "list[Image.Image | None] | None"], None]


def generators(seeds: list[int], salt: int = 0, device: str = "cpu") -> list[torch.Generator]:
    # CPU generators: the same seed gives the same noise on every device, as diffusers recommends.
    return [torch.Generator("cpu").manual_seed((s + salt) % SEED_MOD) for s in seeds]


class StopEarly(Exception):
    def __init__(self, latents: torch.Tensor):
        self.latents = latents


def step_callback(
    stage: str,
    offset: int,
    total: int,
    progress: Progress | None,
    should_stop: Callable[[], bool],
    preview: Callable[[torch.Tensor], list[Image.Image | None]] | None = None,
    preview_every: int = 0,
    stop_at: int | None = None,
):
    """A diffusers `callback_on_step_end` that reports progress, makes previews, cancels and stops early."""

    def callback(pipe, i, t, kwargs):
        if should_stop():
            raise Cancelled("cancelled")
        latents = kwargs.get("latents")
        step = i + 1
        shots = None
        if (
            preview is not None
            and preview_every
            and latents is not None
            and step % preview_every == 0
            and step < total - offset
        ):
            shots = preview(latents)
        if progress is not None:
            progress(stage, offset + step, total, shots)
        if stop_at is not None and step >= stop_at and latents is not None:
            raise StopEarly(latents)
        return kwargs

    return callback


@contextlib.contextmanager
def seamless(enabled: bool, *modules: torch.nn.Module) -> Iterator[None]:
    """--tile: circular padding in every conv, so the image wraps around at its edges."""
    if not enabled:
        yield
        return
    convs = [m for mod in modules for m in mod.modules() if isinstance(m, torch.nn.Conv2d)]
    before = [c.padding_mode for c in convs]
    for c in convs:
        c.padding_mode = "circular"
    try:
        yield
    finally:
        for c, mode in zip(convs, before):
            c.padding_mode = mode


def steps_run(steps: int, strength: float) -> int:
    """Of `steps` asked for, the ones a start at `strength` runs (img2img's count, at least one)."""
    return max(1, min(steps, int(steps * strength)))


def call_pipeline(
    pipe,
    kwargs: dict,
    task: ImageTask,
    default_scheduler,
    autoencoder: torch.nn.Module,
    decode: Callable[[torch.Tensor], list[Image.Image]],
    prepare: Callable[[Any, dict], None] | None = None,
) -> tuple[list[Image.Image], bool]:
    """One diffusers call with the task's scheduler and --tile; on --stop, decode where it stopped. `prepare(pipe,
    kwargs)` runs once the task's scheduler is in place (hub/engines/fill.py: a start part way).

    Returns (images, stopped_early). The pipeline's own scheduler is put back afterwards.
    """
    pipe.scheduler = default_scheduler
    try:
        swap_scheduler(pipe, task.scheduler)
        if task.timesteps:
            if "timesteps" not in inspect.signature(pipe.scheduler.set_timesteps).parameters:
                name = type(pipe.scheduler).__name__
                raise InvalidRequest(f"the {name} sampler cannot run set timesteps; leave them out or choose another")
            fixed = _fixed_timesteps(type(pipe.scheduler), tuple(task.timesteps))
            pipe.scheduler = fixed.from_config(pipe.scheduler.config)
        if prepare is not None:
            prepare(pipe, kwargs)
        with seamless(task.tile, pipe.unet, autoencoder):
            try:
                return pipe(**kwargs).images, False
            except StopEarly as early:
                return decode(early.latents), True
    finally:
        pipe.scheduler = default_scheduler


# Inpainting "only masked", as A1111 offers it: a small region is repainted at the model's full size from a crop of
# the canvas around it, grown by this share of the canvas's shorter side (A1111's default padding, 32 px at 512)
CROP_PAD = 1 / 16
CROP_MAX_SHARE = 0.6  # a crop over more of the canvas than this (a zoom's or pan's border) repaints the whole canvas


def masked_crop(mask: Image.Image, size: tuple[int, int], pad: float = CROP_PAD) -> tuple[int, int, int, int] | None:
    """The box (left, top, right, bottom) an edit repaints its mask within: the mask's white area grown by `pad`,
    widened to the canvas's aspect so it scales back evenly, kept inside the canvas; None where that box would be
    most of the canvas anyway.

    On the bundled mini (64 x 64; a quarter of it is 8 x 8 latents), with the picture's background named in the
    region's prompt (hub.mini.guard.with_background), Vary (Region) drew an object of the prompt's colour in
    94.8/95.8% of regions against 82.3/87.5% over the whole canvas, of its shape too in 64.6/65.1% against 50.5/54.7%
    (eval-mini --edits, 96 + 96 held-out prompts, 2 images; docs/BENCHMARKS.md, session 24)."""
    import numpy as np

    width, height = size
    ys, xs = np.nonzero(np.asarray(mask.convert("L").resize(size, Image.NEAREST)) >= 128)
    if not len(xs):
        return None
    grow = max(2, round(pad * min(width, height)))
    left, top, right, bottom = xs.min() - grow, ys.min() - grow, xs.max() + 1 + grow, ys.max() + 1 + grow
    w, h = right - left, bottom - top
    if w * height < h * width:  # too narrow for the canvas's aspect: widen about its centre
        w = round(h * width / height)
    else:
        h = round(w * height / width)
    if w * h > CROP_MAX_SHARE * width * height or w >= width or h >= height:
        return None
    left = min(max(0, (left + right - w) // 2), width - w)
    top = min(max(0, (top + bottom - h) // 2), height - h)
    return int(left), int(top), int(left + w), int(top + h)


def cropped(task: ImageTask, box: tuple[int, int, int, int]) -> ImageTask:
    """The edit of `box` alone, its canvas and mask scaled up to the task's size."""
    from dataclasses import replace

    size = (task.width, task.height)
    canvas = task.init_image.convert("RGB").crop(box).resize(size, Image.LANCZOS)
    return replace(
        task, init_image=canvas, mask_image=task.mask_image.convert("L").crop(box).resize(size, Image.NEAREST)
    )


def only_masked(task: ImageTask) -> tuple[ImageTask, tuple[int, int, int, int] | None]:
    """The edit an engine runs for `task` and the box it was cropped to: `cropped` around a small region
    (masked_crop), else the task itself and None."""
    box = masked_crop(task.mask_image, (task.width, task.height))
    return (cropped(task, box) if box else task), box


def uncropped(images: list, task: ImageTask, box: tuple[int, int, int, int] | None) -> list:
    """Pictures of a cropped edit (or its previews; None stays None) scaled back into the task's canvas; with no
    box (the edit ran on the whole canvas), the pictures as they are."""
    if box is None:
        return images
    out = []
    for image in images:
        if image is not None:
            whole = task.init_image.convert("RGB").copy()
            whole.paste(image.convert("RGB").resize((box[2] - box[0], box[3] - box[1]), Image.LANCZOS), box[:2])
            image = whole
        out.append(image)
    return out


def paste_kept_all(images: list[Image.Image], task: ImageTask) -> list[Image.Image]:
    """An edit's images with the canvas's kept pixels put back exactly, the seam feathered into the new area."""
    from hub.images import paste_kept

    feather = max(2, min(task.width, task.height) // 32)
    return [paste_kept(im, task.init_image, task.mask_image, feather) for im in images]


class _OwnSize:
    """An image processor whose `preprocess` keeps the image's own size (the engine resized it already).

    diffusers 0.42's `KandinskyV22Img2ImgPipeline` calls `preprocess(image, width, height)` where the signature is
    `(image, height, width)`, so every non-square init image was stretched to the transposed size and a 16:9 job
    came back 9:16 from Vary (Subtle) and Upscale."""

    def __init__(self, processor):
        self._processor = processor

    def preprocess(self, image, *args, **kwargs):
        kwargs.pop("height", None), kwargs.pop("width", None)
        return self._processor.preprocess(image, **kwargs)

    def __getattr__(self, name):
        return getattr(self._processor, name)


def keep_own_size(pipe) -> None:
    """Make an img2img pipeline take its init images at the size they come in (see _OwnSize)."""
    processor = getattr(pipe, "image_processor", None)
    if processor is not None and not isinstance(processor, _OwnSize):
        pipe.image_processor = _OwnSize(processor)


def to_pil(images: torch.Tensor) -> list[Image.Image]:
    """(B, 3, H, W) in [-1, 1] -> PIL images."""
    arr = (images.float().clamp(-1, 1) * 0.5 + 0.5).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return [Image.fromarray(a) for a in arr]


def swap_scheduler(pipe, name: str | None) -> None:
    """Swap a pipeline's scheduler by class name (e.g. "DDIMScheduler"), keeping its config."""
    if not name:
        return
    import diffusers

    cls = getattr(diffusers, name, None)
    if cls is None or not name.endswith("Scheduler") or name in ("UnCLIPScheduler",):
        raise InvalidRequest(f"scheduler {shown(name, 40)} is not valid: choose one of {', '.join(SCHEDULERS)}")
    if type(pipe.scheduler).__name__ != name:
        pipe.scheduler = _taking_generator(cls).from_config(pipe.scheduler.config)


@functools.cache
def _taking_generator(cls):
    """`cls`, or where its step takes no generator (UniPC, a deterministic solver) a subclass whose step accepts
    and ignores one: Kandinsky's pipelines pass their generator to every step, and UniPC failed every job there."""
    if "generator" in inspect.signature(cls.step).parameters:
        return cls

    def step(self, *args, generator=None, **kwargs):
        return cls.step(self, *args, **kwargs)

    return type(cls.__name__, (cls,), {"step": step, "__module__": __name__})


@functools.cache
def _fixed_timesteps(cls, timesteps: tuple[int, ...]):
    """`cls` whose set_timesteps takes `timesteps` instead of spacing its own: diffusers' Kandinsky pipelines pass
    only a number of steps. The count must match: a task carries timesteps only when it runs exactly that many steps
    (hub.service). A class attribute, so a subclass made from it (fill.py's) keeps them."""

    def set_timesteps(self, num_inference_steps=None, device=None, **kwargs):
        if num_inference_steps not in (None, len(self.fixed)):
            raise ValueError(f"{num_inference_steps} steps asked of a schedule of {len(self.fixed)} timesteps")
        kwargs.pop("timesteps", None)
        cls.set_timesteps(self, device=device, timesteps=list(self.fixed), **kwargs)

    return type(cls.__name__, (cls,), {"set_timesteps": set_timesteps, "fixed": timesteps, "__module__": __name__})


def weights_hash(unet: torch.nn.Module) -> str | None:
    """A1111's "Model hash" of a diffusers model: of its UNet's weights file (the first, if sharded), the file that
    makes one checkpoint differ from another. None when the weights were not loaded from files (a test's model)."""
    root = Path(str(getattr(unet.config, "_name_or_path", "") or ""))
    for folder in (root / "unet", root):
        files = sorted(folder.glob("diffusion_pytorch_model*.safetensors")) or sorted(
            folder.glob("diffusion_pytorch_model*.bin")
        )
        if files:
            stat = files[0].stat()
            return _hash_file(str(files[0]), stat.st_size, stat.st_mtime_ns)
    return None


@functools.lru_cache(maxsize=16)
def _hash_file(path: str, size: int, mtime_ns: int) -> str:  # size and time: a rewritten file is hashed again
    from hub.pnginfo import model_hash

    return model_hash(path)
