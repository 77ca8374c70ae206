"""What crosses the device boundary: plain, picklable data only (no torch, no closures, no handles).

Between the Hub's process and a device worker (a thread, a ZeroGPU fork, a Ray Serve replica) travel:
- a batch of `WorkItem`s (the job id, its kind, the model's name and a fully resolved task),
- a stream of `ProgressEvent`s (hub.types) whose `preview` is PNG bytes,
- one `Output` or `Failure` per item.
The worker never touches SQLite or the image folder; the Hub's process writes both (hub/jobs.py).
A `WorkItem` also round-trips through JSON (`to_json`/`from_json`): the job row keeps it so that a job
accepted before a crash runs again after the restart.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from PIL import Image

SEED_MOD = 2**32

# kinds that leave images in the store; the rest answer the caller only (text, describe, lessons ...)
IMAGE_KINDS = ("imagine", "mix", "vary", "upscale", "enhance", "region", "zoom", "pan")


@dataclass
class ImageTask:
    """One request's share of a batch, fully resolved (sizes snapped, defaults applied).

    Images are PIL images in the Hub and in the engines; `plain()` turns them into PNG bytes for the trip."""

    seeds: list[int]
    width: int
    height: int
    num_inference_steps: int
    guidance_scale: float
    prior_num_inference_steps: int = 25
    prior_guidance_scale: float = 4.0
    parts: list[tuple[str, float]] = field(default_factory=list)  # weighted texts
    images: list[tuple[Any, float]] = field(default_factory=list)  # weighted image prompts (PIL or PNG bytes)
    negative_prompt: str = ""
    chaos: int = 0
    stop: int | None = None  # percent of decoder steps to run
    tile: bool = False
    init_image: Any = None  # img2img, subtle variation, upscale, and the canvas an edit repaints (PIL or PNG bytes)
    # inpainting (Vary Region, Zoom Out, Pan): white = repaint, black = keep (kept pixel for pixel in the result)
    mask_image: Any = None
    strength: float = 1.0
    scheduler: str | None = None
    # the decoder's timesteps, in place of its scheduler's own spacing for that many steps (a distilled draft's)
    timesteps: tuple[int, ...] | None = None
    prior_scheduler: str | None = None  # Kandinsky's prior: a solver instead of its own scheduler (drafts)
    preview: bool = False  # decode a preview of the first image every few steps (costs a decode each time)
    draft: bool = False  # run the model's distilled draft decoder where it has one
    fast_decode: bool = False  # decode with the model's tiny latent decoder where it has one (a draft's pictures)
    # hard negatives for the prior, one list per part (hub.mini.guard): texts whose embedding the prior's guidance
    # steers away from at `avoid_scale`. None: not decided yet (the Hub fills it from the model's defaults)
    avoid: list[list[str]] | None = None
    avoid_scale: float = 0.0
    # one (hiding, free) pair of texts per part (hub.mini.guard.background_texts): a prior sample nearer to a hiding
    # text than to every free one is drawn again with fresh noise, at most `redraws` times
    recheck: list[tuple[list[str], list[str]]] = field(default_factory=list)
    redraws: int = 0

    def batch_key(self) -> tuple:
        """Tasks with equal keys run in one pipeline call (each keeps its own seeds)."""
        return (
            self.width,
            self.height,
            self.num_inference_steps,
            self.guidance_scale,
            self.prior_num_inference_steps,
            self.prior_guidance_scale,
            self.stop,
            self.tile,
            self.init_image is not None,
            self.mask_image is not None,
            self.strength if self.init_image is not None else None,
            self.scheduler,
            self.timesteps,
            self.prior_scheduler,
            self.draft,
            self.fast_decode,
            self.avoid_scale,
        )

    def plain(self) -> ImageTask:
        """A copy whose images are PNG bytes: what crosses a process boundary."""
        return replace(
            self,
            images=[(to_png(im), w) for im, w in self.images],
            init_image=None if self.init_image is None else to_png(self.init_image),
            mask_image=None if self.mask_image is None else to_png(self.mask_image),
        )

    def loaded(self) -> ImageTask:
        """A copy whose images are PIL images again: what the engines take."""
        return replace(
            self,
            images=[(to_pil(im), w) for im, w in self.images],
            init_image=None if self.init_image is None else to_pil(self.init_image),
            mask_image=None if self.mask_image is None else to_pil(self.mask_image),
        )

    @property
    def pixels(self) -> int:
        return self.width * self.height * len(self.seeds)


@dataclass(frozen=True)
class WorkItem:
    """One job as a worker sees it. `task` is an ImageTask for image kinds and the walkthrough, else a dict."""

    job_id: str
    kind: str  # imagine | mix | vary | upscale | enhance | expand | chat | describe | shorten | walkthrough
    model: str  # a catalog name
    task: Any
    prompt: str = ""  # what the PNG info shows as the prompt
    grid: bool = False  # also compose a 2x2 grid

    def plain(self) -> WorkItem:
        return replace(self, task=self.task.plain()) if isinstance(self.task, ImageTask) else self


@dataclass(frozen=True)
class Output:
    """A finished item. Image kinds: PNG bytes (with their A1111 parameters inside) and the parameters again;
    other kinds: `value` is their result dataclass (hub.types) or a dict."""

    job_id: str
    images: tuple[bytes, ...] = ()
    grid: bytes | None = None
    parameters: tuple[str, ...] = ()
    value: Any = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Failure:
    """An item that did not finish. `code` is a LienzoError code (hub.errors); `message` is for the user."""

    job_id: str
    code: str
    message: str


# --- images as bytes ------------------------------------------------------------------------------------
def to_png(image) -> bytes:
    if isinstance(image, (bytes, bytearray)):
        return bytes(image)
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def to_pil(image):
    if isinstance(image, (bytes, bytearray)):
        with Image.open(io.BytesIO(image)) as im:
            im.load()
            return im.convert("RGB") if im.mode not in ("RGB", "L") else im.copy()
    return image


# --- JSON, for the job row ----------------------------------------------------------------------------
def to_json(item: WorkItem) -> str:
    item = item.plain()
    task = asdict(item.task) if isinstance(item.task, ImageTask) else item.task
    body = {
        "job_id": item.job_id,
        "kind": item.kind,
        "model": item.model,
        "prompt": item.prompt,
        "grid": item.grid,
        "image_task": isinstance(item.task, ImageTask),
        "task": task,
    }
    return json.dumps(body, default=_bytes_out, ensure_ascii=False)


def from_json(text: str) -> WorkItem:
    body = json.loads(text, object_hook=_bytes_in)
    task = body["task"]
    if body["image_task"]:
        names = {f.name for f in fields(ImageTask)}
        task = ImageTask(**{k: v for k, v in task.items() if k in names})
        task.parts = [tuple(p) for p in task.parts]
        task.images = [tuple(p) for p in task.images]
    return WorkItem(
        job_id=body["job_id"],
        kind=body["kind"],
        model=body["model"],
        task=task,
        prompt=body["prompt"],
        grid=body["grid"],
    )


def _bytes_out(value):
    if isinstance(value, (bytes, bytearray)):
        return {"__b64__": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"cannot store a {type(value).__name__} in a job row")


def _bytes_in(obj: dict):
    return base64.b64decode(obj["__b64__"]) if set(obj) == {"__b64__"} else obj
