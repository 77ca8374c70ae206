"""The Hub: the facade every front end calls. Async; typed requests in, job handles or results out.

hub = Hub.create(Settings.from_env())
job = await hub.imagine(ImagineRequest("a red circle --ar 16:9 --seed 7"))
async for event in job.events(): ...
result: ImageResult = await job.result()
"""

from __future__ import annotations

import asyncio
import errno
import logging
import math
import os
import secrets
import sqlite3
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import asdict, replace
from typing import Any

import PIL.Image
from PIL.Image import Image as PILImage

from hub import catalog, edits, placement, prompt
from hub.errors import CapabilityError, Forbidden, InvalidRequest, JobNotFound, ModelUnavailable, StorageError, shown
from hub.images import fetch_image, load_image
from hub.jobs import Jobs
from hub.loading import Loader
from hub.scheduler import JobHandle
from hub.settings import Settings
from hub.store import Store, new_job_id
from hub.work import SEED_MOD, ImageTask, WorkItem, to_png
from hub.worker import Worker
from hub.types import (
    EnhanceRequest,
    ChatMessage,
    ChatRequest,
    DescribeRequest,
    DescribeResult,
    ExpandRequest,
    ImagineRequest,
    JobRecord,
    LearnCatalogue,
    LessonFrame,
    LessonRequest,
    MixRequest,
    Origin,
    PanRequest,
    Region,
    RegionRequest,
    ShortenRequest,
    ShortenResult,
    TutorRequest,
    LimitsRequest,
    LimitsResult,
    UpscaleRequest,
    VaryRequest,
    WalkthroughRequest,
    WalkthroughResult,
    ZoomRequest,
)

log = logging.getLogger(__name__)
MAX_IMAGES = 4
SUBTLE_STRENGTH = 0.45  # Vary (Subtle): how much of the image img2img redraws
# Zoom Out and Pan: the new canvas's weight against the prompt's (1) in what steers the border. Zooms free of a
# shape at the seam (24 prompts x 2 images a language, en/es): words alone 31/-% (8 prompts), 1:1 65/73%, 3:1 85/88%
# with the border in the named background 100/79%, 8:1 81/85%, the canvas alone 85/88% (background 90/83%)
EDIT_CANVAS_WEIGHT = 3.0
LIVE_USERS_KEPT = 10_000  # users whose latest live job the Hub remembers (the oldest forgotten first)


def _default(value, default):
    return default if value is None else value


def _guard(spec: catalog.ModelSpec, parts) -> dict:
    """The task fields of the background guard a job's prompt gets on `spec` (hub.mini.guard): its hard negatives
    and their scale, and the sampling check's texts and redraws. Only a prompt of one text, which describes the
    whole scene, and only on a model with a background guard."""
    d = spec.defaults
    guard = {"avoid": [], "avoid_scale": 0.0, "recheck": [], "redraws": 0}
    if not (d.background_guard or d.background_redraws) or len(parts) != 1:  # a mix of several texts: each is a
        return guard  # part, not the scene (mixes showed a trait of both in 12 of 20 pictures unguarded, 7 guarded)
    from hub.mini.guard import avoid_texts, background_texts

    avoid = [avoid_texts(text) for text, _ in parts] if d.background_guard else []
    recheck = [background_texts(text) for text, _ in parts] if d.background_redraws else []
    if any(avoid):
        guard.update(avoid=avoid, avoid_scale=d.background_guard)
    if any(hiding for hiding, _ in recheck):
        guard.update(recheck=recheck, redraws=d.background_redraws)
    return guard


def _guard_record(task) -> dict:
    """What a job's record keeps of its guard, so that a redraw gives its pixels again."""
    return {
        **({"avoid": task.avoid, "avoid_scale": task.avoid_scale} if task.avoid_scale else {}),
        **({"recheck": task.recheck, "redraws": task.redraws} if task.redraws else {}),
    }


def _kept_guard(record: dict) -> dict:
    """A stored job's guard as its task had it, for a redraw that must give its pixels again (Enhance, Explain this
    image); jobs stored before the guard, or before its sampling check, had none."""
    return {
        "avoid": record.get("avoid") or [],
        "avoid_scale": record.get("avoid_scale") or 0.0,
        "recheck": [(list(h), list(f)) for h, f in record.get("recheck") or []],
        "redraws": record.get("redraws") or 0,
    }


def _number(name: str, value, low: float, high: float) -> float:
    """A number field within [low, high], or InvalidRequest naming it and the range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise InvalidRequest(f"{name} must be a number from {low:g} to {high:g}")
    return float(value)


def _whole(name: str, value, allowed: str = "") -> int:
    """An integer field, or InvalidRequest naming it (an API caller may send any JSON)."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise InvalidRequest(f"{name} must be a whole number")
    if value.bit_length() > 62:  # also keeps a 5,000-digit number out of the messages below
        raise InvalidRequest(f"{name} is far too large a number" + (f"; allowed: {allowed}" if allowed else ""))
    return value


def learn_catalogue() -> LearnCatalogue:
    """The Learn tab's catalogue (the lessons' defaults, settings and presets): static, so no Hub is needed."""
    from hub.explainer import TEXTS, lessons, presets, toy2d

    return LearnCatalogue(
        defaults=lessons.DEFAULTS,
        settings=lessons.SETTINGS,
        data=lessons.DATA,
        schedules=lessons.SCHEDULES,
        gan_presets=presets.GAN_PRESETS,
        gan_losses=presets.GAN_LOSSES,
        char_presets=presets.CHAR_PRESETS,
        extent=toy2d.EXTENT,
        texts=TEXTS,
    )


def points_from_drawing(pixels):
    """The 2-D points a learner drew on a pad (an RGB(A) array), for the GAN and diffusion lessons."""
    from hub.explainer import toy2d

    return toy2d.points_from_drawing(pixels)


def example_picture():
    """The picture the noising lesson starts from: a scene of the mini's world (a PIL image, 128x128)."""
    from PIL import Image

    from hub.mini import world

    scene = world.Scene(
        "yellow",
        (world.Obj("star", "purple", "large", 0.3, 0.35), world.Obj("circle", "blue", "small", 0.72, 0.7)),
        "left of",
    )
    return world.render(scene).resize((128, 128), Image.NEAREST)


def make_placement(settings: Settings, worker: Worker, gpu=None):
    """The placement LIENZO_PLACEMENT names (hub/placement.py; Ray Serve's in hub/ray_serve.py, imported only
    when chosen: Ray is an optional install)."""
    if settings.placement == "zerogpu":
        if gpu is None:
            import spaces

            gpu = spaces.GPU
        preload = tuple(dict.fromkeys(m for m in settings.preload if m))
        return placement.ZeroGPUPlacement(worker, gpu, max_seconds=settings.gpu_duration, preload=preload)
    if settings.placement == "ray":
        from hub.ray_serve import RayPlacement

        return RayPlacement(settings)
    return placement.ThreadPlacement(worker)


def open_store(data_dir) -> Store:
    """The job store in LIENZO_DATA_DIR, or StorageError saying in words why that folder cannot hold it."""
    where = shown(str(data_dir), 120)
    try:
        return Store(data_dir)
    except (FileExistsError, NotADirectoryError):
        raise StorageError(f"LIENZO_DATA_DIR {where} (or a folder inside it) is a file; point it at a folder") from None
    except PermissionError:
        raise StorageError(
            f"LIENZO_DATA_DIR {where} cannot be written (no permission); point it at a folder you "
            "can write, or fix its permissions"
        ) from None
    except (OSError, sqlite3.Error) as exc:
        reason = (
            "the disk is full"
            if getattr(exc, "errno", None) == errno.ENOSPC or "full" in str(exc)
            else "it is read-only or failing"
            if "readonly" in str(exc) or getattr(exc, "errno", None) == errno.EROFS
            else "its database cannot be opened"
        )
        raise StorageError(f"LIENZO_DATA_DIR {where} cannot hold Lienzo's jobs: {reason}") from None


class Hub:
    def __init__(self, settings: Settings, store: Store, loader: Loader, gpu=None, recover: bool = False):
        """gpu: the decorator of the zerogpu placement (spaces.GPU, or a stand-in in tests).
        recover: take over the jobs of a server that died on this data dir (servers do; one-shot commands not)."""
        self.settings, self.store, self.loader = settings, store, loader
        self.worker = Worker(settings, loader)
        if settings.placement in ("zerogpu", "ray") and not settings.preload:
            settings = settings.with_(preload=(self.default_image_model,))
        self.placement = make_placement(settings, self.worker, gpu)
        self.jobs = Jobs(settings, store, self.placement)
        self.scheduler = self.jobs.scheduler
        self._recover = recover
        self.recovered: tuple[str, ...] = ()
        self._library = None  # the tutor's index of the course notes, built on first use
        self._live: OrderedDict[str, str] = OrderedDict()  # user -> their latest live job

    @classmethod
    def create(cls, settings: Settings | None = None, gpu=None, recover: bool = False, **overrides) -> Hub:
        """The composition root: settings (LIENZO_* variables unless given, then `overrides`, e.g. share="public")
        -> store, loader, worker, placement -> Hub."""
        settings = settings or Settings.from_env()
        if overrides:
            settings = settings.with_(**overrides)
        return cls(settings, open_store(settings.data_dir), Loader(settings), gpu, recover)

    async def start(self) -> None:
        """Start the queue on the running event loop; a server also takes over the jobs a dead one left (they
        run again). Submitting starts the queue too; a server calls this at start-up so recovered jobs run."""
        self.scheduler.start()
        if self._recover:
            self._recover = False
            self.recovered = tuple(self.jobs.recover())

    async def close(self) -> None:
        await self.scheduler.stop()
        self.placement.close()
        self.store.close()

    def secret_key(self) -> bytes:
        """The server's signing key (the web hub signs its visitors' ids with it): LIENZO_SECRET_KEY, else a random
        key created once in <data_dir>/secret.key, readable by this user only. Never logged, never served."""
        if self.settings.secret_key:
            return self.settings.secret_key.encode()
        path = self.settings.data_dir / "secret.key"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_bytes().strip()
            if len(key) >= 32:
                return key
            path.unlink()  # a key cut short by a crash mid-write: start again
            return self.secret_key()
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_hex(32).encode())
        return path.read_bytes().strip()

    # --- models -------------------------------------------------------------------------------
    def models(self) -> list[tuple[catalog.ModelSpec, catalog.Availability]]:
        return [(spec, self.loader.availability(spec)) for spec in catalog.MODELS.values()]

    @property
    def default_image_model(self) -> str:
        if self.settings.image_model:
            return self.settings.image_model
        big = catalog.MODELS["kandinsky-2.2"]
        return big.name if self.loader.availability(big).ok and self.loader.gpu_gib else "mini"

    @property
    def default_text_model(self) -> str:
        if self.settings.text_model:
            return self.settings.text_model
        for name in (["smollm2-360m"] if self.loader.gpu_gib else []) + ["mini-text", "smollm2-360m"]:
            if self.loader.availability(catalog.MODELS[name]).ok:
                return name
        raise ModelUnavailable(
            "no text model can run here: mini-text's weights are missing (`lienzo train-mini` makes them) and the "
            "Hugging Face Hub cannot be reached; set LIENZO_TEXT_MODEL to a model in the local cache"
        )

    @property
    def chat_model(self) -> str | None:
        """The chat-capable text model that can run here, or None (then the tutor answers from its notes)."""
        names = [self.settings.text_model] if self.settings.text_model else ["smollm2-360m", "qwen2.5-0.5b"]
        for name in names:
            spec = catalog.get(name)
            if spec.can("chat") and self.loader.availability(spec).ok:
                return name
        return None

    def _spec(self, name: str | None, capability: str, default: str | None = None) -> catalog.ModelSpec:
        spec = catalog.get(name or default or self.default_image_model)
        if not spec.can(capability):
            able = [m.name for m in catalog.MODELS.values() if m.can(capability)]
            raise CapabilityError(f"model {spec.name!r} cannot {capability}; models that can: {', '.join(able)}")
        self.loader.require(spec)
        return spec

    # --- image jobs ---------------------------------------------------------------------------
    async def imagine(self, req: ImagineRequest) -> JobHandle:
        if req.parse_flags:
            parsed = prompt.parse(req.prompt)
        else:
            prompt.check_text("prompt", req.prompt)
            if not req.prompt.strip():
                raise InvalidRequest("the prompt is empty; write what to draw")
            parsed = prompt.ParsedPrompt(text=req.prompt.strip(), parts=((req.prompt.strip(), 1.0),))
        prompt.check_text("negative prompt", req.negative_prompt)
        images = [await self._fetch(u) for u in parsed.image_urls]
        images += [await self._load(im, f"image prompt {i + 1}") for i, im in enumerate(req.images)]
        needs_mix = bool(images) or parsed.is_multi
        spec = self._spec(req.model, "mix" if needs_mix else "text2img")
        d = spec.defaults
        aspect = parsed.aspect
        if aspect is None and req.aspect not in (None, ""):  # the picker: the prompt's own --ar wins over it
            aspect = prompt.parse_aspect("aspect", req.aspect)
        width, height = self._size(spec, req.width, req.height, aspect)
        draft = req.draft or req.live or parsed.draft
        distilled = draft and self.loader.draft_path(spec) is not None  # else the solver's few steps
        draft_steps = d.distilled_steps if distilled else d.draft_steps
        steps = _default(req.num_inference_steps, draft_steps if draft else d.num_inference_steps)
        steps = self._steps(spec, steps, parsed.quality)
        timesteps = d.distilled_timesteps if distilled and len(d.distilled_timesteps or ()) == steps else None
        prior_steps = _default(req.prior_num_inference_steps, d.draft_prior_steps if draft else None)
        guidance = req.guidance_scale if req.guidance_scale is not None else d.guidance_scale
        if parsed.stylize is not None:
            guidance = prompt.guidance_for_stylize(parsed.stylize, d.guidance_scale)
        if distilled:
            guidance = 1.0  # the draft decoder was distilled from the guided one: no unconditional pass
        iw = parsed.image_weight if parsed.image_weight is not None else 1.0
        task = ImageTask(
            seeds=self._seeds(parsed.seed if parsed.seed is not None else req.seed, req.num_images),
            width=width,
            height=height,
            num_inference_steps=steps,
            guidance_scale=self._guidance(spec, guidance),
            prior_num_inference_steps=self._prior_steps(spec, prior_steps),
            prior_guidance_scale=self._guidance(spec, req.prior_guidance_scale, prior=True),
            parts=list(parsed.parts),
            images=[(im, iw) for im in images],
            negative_prompt=", ".join(x for x in (req.negative_prompt.strip(), parsed.negative_prompt) if x),
            chaos=parsed.chaos,
            stop=parsed.stop,
            tile=parsed.tile,
            scheduler="LCMScheduler" if distilled else req.scheduler or (d.draft_scheduler if draft else d.scheduler),
            timesteps=timesteps,
            prior_scheduler=d.draft_prior_scheduler if draft and spec.family == "kandinsky" else None,
            preview=req.preview,
            draft=distilled,
            fast_decode=draft,
        )
        if images and sum(w for _, w in task.parts) + iw * len(images) <= 0:
            raise InvalidRequest("--iw 0 with no text leaves nothing to draw; raise --iw or add text")
        origin = replace(req.origin, lane=parsed.lane or req.origin.lane)
        extra = {"draft": True, "distilled": distilled, "fast_decode": True, **({"live": True} if req.live else {})}
        extra = extra if draft else None
        if not req.live:
            return self._submit(spec, "imagine", task, req.prompt, origin, grid=req.num_images > 1, extra=extra)
        replaced = self._live.pop(origin.user, None)
        if replaced is not None:
            self.jobs.cancel(replaced)  # the user typed on: their previous redraw is stale
        handle = self._submit(spec, "imagine", task, req.prompt, origin, grid=req.num_images > 1, extra=extra)
        self._live[origin.user] = handle.job_id
        while len(self._live) > LIVE_USERS_KEPT:
            self._live.popitem(last=False)
        return handle

    async def enhance(self, req: EnhanceRequest) -> JobHandle:
        """A draft's image again at full quality: its seed and prior settings (so the same image embedding), the
        model's own decoder steps and scheduler. One image, a child of the draft like an upscale."""
        source, spec, _ = self._source(req.job_id, req.index, "text2img", req.origin)
        parent, d = source.request, spec.defaults
        if not parent.get("draft"):
            raise InvalidRequest(
                f"job {source.id} is not a draft, so it is at full quality already; Enhance redraws drafts "
                "(made with --draft or the Draft switch): vary or upscale this one instead"
            )
        if parent.get("image_prompts"):
            raise InvalidRequest(
                f"job {source.id} had image prompts, which are not kept with the job; run the prompt again "
                "without --draft to draw it at full quality"
            )
        task = ImageTask(
            seeds=[source.seeds[req.index]],
            width=source.width,
            height=source.height,
            num_inference_steps=d.num_inference_steps,
            guidance_scale=d.guidance_scale if parent.get("distilled") else parent["guidance_scale"],
            prior_num_inference_steps=parent["prior_num_inference_steps"],
            prior_guidance_scale=parent["prior_guidance_scale"],
            prior_scheduler=parent.get("prior_scheduler"),
            parts=[(text, weight) for text, weight in parent["parts"]],
            negative_prompt=parent.get("negative_prompt") or "",
            chaos=parent.get("chaos") or 0,
            stop=parent.get("stop"),
            tile=bool(parent.get("tile")),
            scheduler=d.scheduler,
            preview=req.preview,
            **_kept_guard(parent),
        )
        return self._submit(
            spec, "enhance", task, parent.get("prompt", ""), req.origin, grid=False, parent=(source.id, req.index)
        )

    async def mix(self, req: MixRequest) -> JobHandle:
        items = list(req.items)
        if not 1 <= len(items) <= prompt.MAX_PARTS:
            raise InvalidRequest(f"a mix takes 1 to {prompt.MAX_PARTS} texts or images, got {len(items)}")
        parts, images = [], []
        for i, item in enumerate(items):
            if (item.text is None) == (item.image is None):
                raise InvalidRequest(f"mix item {i + 1} must be a text or an image, not both or neither")
            _number(f"the weight of mix item {i + 1}", item.weight, -10, 10)
            if item.text is not None:
                prompt.check_text(f"mix item {i + 1}", item.text)
                if not item.text.strip():
                    raise InvalidRequest(f"mix item {i + 1} is an empty text")
                parts.append((item.text.strip(), float(item.weight)))
            else:
                images.append((await self._load(item.image, f"mix image {i + 1}"), float(item.weight)))
        if sum(w for _, w in parts) + sum(w for _, w in images) <= 0:
            raise InvalidRequest("the mix weights must add up to more than 0")
        prompt.check_text("negative prompt", req.negative_prompt)
        spec = self._spec(req.model, "mix")
        d = spec.defaults
        width, height = self._size(spec, req.width, req.height, None)
        task = ImageTask(
            seeds=self._seeds(req.seed, req.num_images),
            width=width,
            height=height,
            num_inference_steps=self._steps(spec, _default(req.num_inference_steps, d.num_inference_steps), None),
            guidance_scale=self._guidance(spec, req.guidance_scale),
            prior_num_inference_steps=self._prior_steps(spec, req.prior_num_inference_steps),
            prior_guidance_scale=self._guidance(spec, req.prior_guidance_scale, prior=True),
            parts=parts,
            images=images,
            negative_prompt=req.negative_prompt.strip(),
            preview=req.preview,
        )
        total = sum(w for _, w in parts) + sum(w for _, w in images)  # the weights actually used
        label = " + ".join(f"{t}::{w / total:.3g}" for t, w in parts)
        label += "".join(f" + <image {i + 1}>::{w / total:.3g}" for i, (_, w) in enumerate(images))
        return self._submit(spec, "mix", task, label.strip(" +"), req.origin, grid=req.num_images > 1)

    async def vary(self, req: VaryRequest) -> JobHandle:
        if req.strength not in ("subtle", "strong"):
            raise InvalidRequest(f"strength {shown(req.strength)} is not valid: subtle or strong")
        source, spec, image = self._source(req.job_id, req.index, "variation", req.origin)
        d, parent = spec.defaults, source.request
        subtle = req.strength == "subtle"
        inherited = lambda key, default: parent.get(key) if parent.get(key) is not None else default  # noqa: E731
        steps = self._steps(
            spec, _default(req.num_inference_steps, inherited("num_inference_steps", d.num_inference_steps)), None
        )
        if subtle:  # img2img runs steps x strength of them: at least one (a 2-step parent would give none)
            steps = max(steps, math.ceil(1 / SUBTLE_STRENGTH))
        # Remix: the new prompt mixed with the picture, as Midjourney's Remix steers a variation with new words
        remix = req.prompt is not None and bool(req.prompt.strip())
        parts, negative = self._edit_prompt(req.prompt, parent) if remix else ([], parent.get("negative_prompt") or "")
        task = ImageTask(
            seeds=self._seeds(req.seed, req.num_images),
            width=source.width,
            height=source.height,
            num_inference_steps=steps,
            guidance_scale=self._guidance(spec, _default(req.guidance_scale, inherited("guidance_scale", None))),
            prior_num_inference_steps=self._prior_steps(spec, inherited("prior_num_inference_steps", None)),
            prior_guidance_scale=self._guidance(spec, inherited("prior_guidance_scale", None), prior=True),
            prior_scheduler=parent.get("prior_scheduler"),
            parts=parts,
            images=[(image, 1.0)],
            negative_prompt=negative,
            init_image=image if subtle else None,
            strength=SUBTLE_STRENGTH if subtle else 1.0,
            scheduler=parent.get("scheduler"),
            preview=req.preview,
        )
        text = req.prompt.strip() if remix else source.request.get("prompt", "")
        return self._submit(
            spec,
            "vary",
            task,
            text,
            req.origin,
            grid=req.num_images > 1,
            parent=(source.id, req.index),
            extra={"strength": req.strength, **({"remix": True} if remix else {})},
        )

    async def upscale(self, req: UpscaleRequest) -> JobHandle:
        source, spec, image = self._source(req.job_id, req.index, "img2img", req.origin)
        d = spec.defaults
        if isinstance(req.factor, bool) or req.factor not in (2, 4):
            raise InvalidRequest(f"upscale factor {shown(req.factor, 20)} is not valid: 2 or 4")
        _number("upscale strength", req.strength, 0.05, 0.95)
        width, height = source.width * req.factor, source.height * req.factor
        if max(width, height) > d.max_side:
            raise InvalidRequest(
                f"{source.width}x{source.height} upscaled {req.factor}x would be {width}x{height}; "
                f"{spec.name} goes up to {d.max_side} px a side"
            )
        task = ImageTask(
            seeds=self._seeds(req.seed, 1),
            width=width,
            height=height,
            num_inference_steps=d.num_inference_steps,
            guidance_scale=d.guidance_scale,
            prior_num_inference_steps=d.prior_num_inference_steps,
            prior_guidance_scale=d.prior_guidance_scale,
            images=[(image, 1.0)],
            init_image=image,
            strength=req.strength,
            preview=req.preview,
        )
        return self._submit(
            spec,
            "upscale",
            task,
            source.request.get("prompt", ""),
            req.origin,
            grid=False,
            parent=(source.id, req.index),
            extra={"factor": req.factor},
        )

    async def vary_region(self, req: RegionRequest) -> JobHandle:
        """Vary (Region): the marked area repainted after `prompt`, the rest kept pixel for pixel."""
        source, spec, image = self._source(req.job_id, req.index, "inpaint", req.origin)
        if (req.mask is None) == (req.area is None):
            raise InvalidRequest("Vary (Region) takes a mask (white = repaint) or an area (left, top-right, ...), one")
        if req.area is not None:
            found = edits.objects(image) if spec.name == "mini" else []
            mask = edits.area_mask(req.area, image.size, found)
        else:
            mask = await self._load(req.mask, "mask")
        mask, share = edits.region_mask(mask, image.size)
        extra = {"region": round(share, 3), **({"area": req.area} if req.area else {})}
        return self._edit(spec, "region", source, req, image, mask, extra)

    def regions(self, job_id: str, index: int, viewer: Origin | None = None) -> tuple[Region, ...]:
        """The areas Vary (Region) offers on image `index` of a job without a brush: halves, quarters and the
        centre, then (on the mini, whose world its detector knows) each object in the picture."""
        source, spec, image = self._source(job_id, index, "inpaint", viewer)
        found = edits.objects(image) if spec.name == "mini" else []
        from hub.mini.world import named

        return tuple(Region(name, box) for name, box in edits.AREAS.items()) + tuple(
            Region(name, box, colour, shape, {lang: named(shape, colour, lang) for lang in ("en", "es")})
            for name, colour, shape, box in found
        )

    async def zoom_out(self, req: ZoomRequest) -> JobHandle:
        """Zoom Out: the picture shrunk by `factor` in the middle of a canvas of its size, the border drawn anew."""
        factor = edits.zoom_factor(req.factor)
        source, spec, image = self._source(req.job_id, req.index, "inpaint", req.origin)
        canvas, mask, _ = edits.zoom_canvas(image, factor)
        return self._edit(spec, "zoom", source, req, canvas, mask, {"zoom": factor})

    async def pan(self, req: PanRequest) -> JobHandle:
        """Pan: the canvas half a side longer toward `direction`, the new strip drawn to continue the picture."""
        source, spec, image = self._source(req.job_id, req.index, "inpaint", req.origin)
        d = spec.defaults
        size = edits.pan_size(image.size, req.direction, d.size_multiple, d.max_side)
        canvas, mask, _ = edits.pan_canvas(image, req.direction, size)
        return self._edit(spec, "pan", source, req, canvas, mask, {"pan": req.direction})

    def _edit(self, spec, kind: str, source: JobRecord, req, canvas, mask, extra: dict) -> JobHandle:
        """An inpainting job on `canvas`: the prompt given (flags read as in /imagine) or the parent's; a parent
        with no words (a mix of pictures) is steered by its own picture. A Zoom Out's or Pan's border starts from
        the canvas's fill at the model's `outpaint_strength`. On the mini, whose world its detector knows:
        - a region's prompt of one text that names no background gets the picture's (its most common colour),
          since the engine repaints a small region from a crop that shows little else of the picture, and one that
          names one object and no size asks for it large, so that it fills the region (guard.drawn_large);
        - a border with no prompt of its own is drawn after the picture's background alone, and the canvas at
          weight 1 (eval-mini --edits, 96 + 96 zooms, 2 images: no object at the seam in 96.9/98.4% of borders,
          against 88.0/87.5% from pure noise steered by the parent's prompt and the canvas at EDIT_CANVAS_WEIGHT;
          docs/BENCHMARKS.md, session 25)."""
        if not self.loader.can_inpaint(spec):
            raise CapabilityError(
                f"{spec.name}'s weights have no inpainting decoder, so it cannot repaint a region, zoom out or pan "
                "(a model folder trained before the inpaint stage: run `lienzo train-mini --inpaint-from FOLDER`)"
            )
        parent, d = source.request, spec.defaults
        parts, negative = self._edit_prompt(req.prompt, parent)
        if not parts and not spec.can("mix"):  # an image-only parent (an upscale): its prompt's words, if any
            parts = list(prompt.parse(parent.get("prompt") or "").parts) if (parent.get("prompt") or "").strip() else []
            if not parts:
                raise InvalidRequest(f"{spec.name} edits by words: write a prompt for this edit")
        shapes_world, border = spec.name == "mini", kind in ("zoom", "pan")
        image_prompts = [] if parts else [(self.store.image(source.id, req.index), 1.0)]
        if shapes_world:
            from hub.mini import guard
            from hub.mini.detect import background

            if kind == "region" and len(parts) == 1:
                parts = [(guard.with_background(guard.drawn_large(parts[0][0]), background(canvas)), parts[0][1])]
        if shapes_world and border and not (req.prompt and req.prompt.strip()):
            lang = guard.named_colours(parent.get("prompt") or "")[1]
            parts, image_prompts = [(guard.background_alone(background(canvas), lang), 1.0)], [(canvas, 1.0)]
        elif border and spec.can("mix"):
            # the new canvas itself steers, more than the words: the prompt alone described the picture at its old
            # framing, and the mini then drew its shapes again, full size, in the new border
            image_prompts = [(canvas, EDIT_CANVAS_WEIGHT)]
        inherited = lambda key, default: parent.get(key) if parent.get(key) is not None else default  # noqa: E731
        task = ImageTask(
            seeds=self._seeds(req.seed, req.num_images),
            width=canvas.width,
            height=canvas.height,
            num_inference_steps=self._steps(spec, inherited("num_inference_steps", d.num_inference_steps), None),
            guidance_scale=self._guidance(
                spec, d.region_guidance if kind == "region" and d.region_guidance else inherited("guidance_scale", None)
            ),
            prior_num_inference_steps=self._prior_steps(spec, inherited("prior_num_inference_steps", None)),
            prior_guidance_scale=self._guidance(spec, inherited("prior_guidance_scale", None), prior=True),
            prior_scheduler=parent.get("prior_scheduler"),
            parts=parts,
            images=image_prompts,
            negative_prompt=negative,
            init_image=canvas,
            mask_image=mask,
            strength=d.outpaint_strength if border else 1.0,
            scheduler=None if parent.get("draft") else parent.get("scheduler"),
            preview=req.preview,
            # no background guard: it steers a whole scene's background, and an edit's words describe a part (24
            # region edits a language, the mini: repainted colour 85/73% without it, 73/65% with it, en/es)
            avoid=[],
        )
        text = req.prompt.strip() if req.prompt and req.prompt.strip() else parent.get("prompt", "")
        return self._submit(
            spec, kind, task, text, req.origin, grid=req.num_images > 1, parent=(source.id, req.index), extra=extra
        )

    @staticmethod
    def _edit_prompt(text: str | None, parent: dict) -> tuple[list, str]:
        """(weighted texts, negative prompt) of an edit or a remix: its own prompt's, else the parent's."""
        if text is not None and text.strip():
            parsed = prompt.parse(text)
            if parsed.image_urls:
                raise InvalidRequest("this prompt takes words, not image links: describe what to draw")
            return list(parsed.parts), parsed.negative_prompt
        if text is not None:
            prompt.check_text("prompt", text)
        return [tuple(p) for p in parent.get("parts") or ()], parent.get("negative_prompt") or ""

    def _source(
        self, job_id: str, index: int, capability: str, viewer: Origin
    ) -> tuple[JobRecord, catalog.ModelSpec, Any]:
        source = self._open(job_id, viewer)
        job_id = source.id
        if source.status != "done" or not source.images:
            raise InvalidRequest(f"job {job_id} has no finished images (status: {source.status})")
        if not 0 <= _whole("image index", index) < len(source.images):
            raise InvalidRequest(f"image {index + 1} is out of range: job {job_id} has images 1-{len(source.images)}")
        spec = self._spec(source.model, capability)
        return source, spec, self.store.image(job_id, index)

    async def _fetch(self, url: str):
        return await asyncio.to_thread(fetch_image, url, self.settings)

    async def _load(self, image, what: str):
        """An input image checked (bytes, then the header's pixels) and decoded off the event loop; an image an
        in-process caller already decoded is only checked, here."""
        if isinstance(image, PILImage):
            return load_image(image, self.settings, what)
        return await asyncio.to_thread(load_image, image, self.settings, what)

    def _submit(
        self,
        spec: catalog.ModelSpec,
        kind: str,
        task: ImageTask,
        text: str,
        origin: Origin,
        grid: bool,
        parent: tuple[str, int] | None = None,
        extra: dict | None = None,
    ) -> JobHandle:
        if task.avoid is None:  # the model's background guard, decided once and kept with the job
            for name, value in _guard(spec, [] if task.images else task.parts).items():
                setattr(task, name, value)
        request = {
            "prompt": text,
            "negative_prompt": task.negative_prompt,
            "width": task.width,
            "height": task.height,
            "num_inference_steps": task.num_inference_steps,
            "guidance_scale": task.guidance_scale,
            "prior_num_inference_steps": task.prior_num_inference_steps,
            "prior_guidance_scale": task.prior_guidance_scale,
            "parts": task.parts,
            "chaos": task.chaos,
            "stop": task.stop,
            "tile": task.tile,
            "strength": task.strength,
            "scheduler": task.scheduler,
            **({"prior_scheduler": task.prior_scheduler} if task.prior_scheduler else {}),
            **({"timesteps": list(task.timesteps)} if task.timesteps else {}),
            "image_prompts": len(task.images),
            "lane": origin.lane,
            **_guard_record(task),
            **(extra or {}),
        }
        item = WorkItem(new_job_id(), kind, spec.name, task, prompt=text, grid=grid)
        record = dict(
            kind=kind,
            model=spec.name,
            request=request,
            seeds=task.seeds,
            width=task.width,
            height=task.height,
            parent_id=parent[0] if parent else None,
            parent_index=parent[1] if parent else None,
        )
        return self.jobs.submit(item, origin, record, batch_key=(spec.name, task.batch_key()))

    # --- resolving defaults and limits ------------------------------------------------------
    @staticmethod
    def _seeds(seed: int | None, n: int) -> list[int]:
        if not 1 <= _whole("num_images", n) <= MAX_IMAGES:
            raise InvalidRequest(f"num_images {n} is not valid: 1 to {MAX_IMAGES}")
        if seed is None:
            seed = secrets.randbelow(SEED_MOD)
        seed = _whole("seed", seed, f"0 to {SEED_MOD - 1}")
        if not 0 <= seed < SEED_MOD:
            raise InvalidRequest(f"seed {seed} is not valid: 0 to {SEED_MOD - 1}")
        return [(seed + i) % SEED_MOD for i in range(n)]

    def _size(self, spec, width, height, aspect) -> tuple[int, int]:
        d = spec.defaults
        m = d.size_multiple
        if aspect is not None:
            return prompt.size_for_aspect(aspect, max(d.width, d.height), m, d.max_side)
        width, height = _whole("width", _default(width, d.width)), _whole("height", _default(height, d.height))
        for name, v in (("width", width), ("height", height)):
            if not d.min_side <= v <= d.max_side:
                raise InvalidRequest(
                    f"{name} {v} is out of range for {spec.name}: {d.min_side} to {d.max_side} "
                    f"pixels (rounded up to a multiple of {m})"
                )
        return (-(-width // m) * m, -(-height // m) * m)

    @staticmethod
    def _steps(spec, steps: int, quality: float | None) -> int:
        d = spec.defaults
        if quality is not None:
            steps = prompt.steps_for_quality(quality, steps)
        if not 1 <= _whole("num_inference_steps", steps) <= d.max_steps:
            raise InvalidRequest(f"num_inference_steps {steps} is out of range for {spec.name}: 1 to {d.max_steps}")
        return steps

    @staticmethod
    def _prior_steps(spec, steps: int | None) -> int:
        steps = spec.defaults.prior_num_inference_steps if steps is None else _whole("prior_num_inference_steps", steps)
        if not 2 <= steps <= 100:  # the prior's scheduler divides by steps - 1
            raise InvalidRequest(f"prior_num_inference_steps {steps} is out of range: 2 to 100")
        return steps

    @staticmethod
    def _guidance(spec, value: float | None, prior: bool = False) -> float:
        d = spec.defaults
        name = "prior_guidance_scale" if prior else "guidance_scale"
        if value is None:
            return d.prior_guidance_scale if prior else d.guidance_scale
        high = 20.0 if prior else d.max_guidance
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= high:
            raise InvalidRequest(f"{name} {value} is out of range for {spec.name}: 0 to {high:g}")
        return float(value)

    # --- describe / shorten / text ----------------------------------------------------------
    def _caption_spec(self, name: str | None) -> catalog.ModelSpec:
        default = self.default_image_model
        if not catalog.get(default).can("caption"):
            default = "mini"
        return self._spec(name, "caption", default)

    async def describe(self, req: DescribeRequest) -> DescribeResult:
        image = await self._load(req.image, "the image to describe")
        spec = self._caption_spec(req.model)
        return await self._answer(WorkItem(new_job_id(), "describe", spec.name, {"image": to_png(image)}), req.origin)

    async def shorten(self, req: ShortenRequest) -> ShortenResult:
        text = prompt.parse(req.prompt).text
        spec = self._caption_spec(req.model)
        return await self._answer(WorkItem(new_job_id(), "shorten", spec.name, {"text": text}), req.origin)

    async def _answer(self, item: WorkItem, origin: Origin):
        """A small job that only answers its caller: queued like any other (caps, fairness), no row."""
        return await self.jobs.submit(item, origin).result()

    async def lesson(self, req: LessonRequest) -> AsyncIterator[LessonFrame]:
        """One of the Learn tab's live demos: train its teaching model from scratch, streaming frames.

        The request is checked before anything runs (InvalidRequest names what was wrong). Training runs on the
        device thread a frame at a time, so image jobs queued meanwhile run between frames."""
        from hub.explainer import lessons

        if req.image is not None:  # a path or bytes from a front end: checked before it is decoded
            req = replace(req, image=await self._load(req.image, "the picture to noise"))
        frames = lessons.start(req)
        handle = self.jobs.submit_turns(new_job_id(), req.origin, frames)
        try:
            async for event in handle.events():
                if event.stage == "turn" and event.data is not None:
                    yield event.data
            await handle.result()  # a lesson that failed raises here
        finally:
            if not handle.done():  # the viewer left: its next turn closes the lesson on the device thread
                self.jobs.cancel(handle.job_id)

    async def time_lesson(self, req: LessonRequest) -> dict:
        """A lesson run straight through on the device thread, one call, no frames handed out: the baseline that
        `lienzo bench --explainer` sets the Learn tab's times against ({first_frame_s, total_s, frames}).

        On the device thread rather than a thread of its own: torch work alternating between two threads slowed
        both about 2x (each thread's OpenMP pool spins while the other works)."""
        from hub.explainer import lessons

        return await self.scheduler.run_sync(lessons.time_directly, req)  # start() checks the request

    async def walkthrough(self, req: WalkthroughRequest) -> WalkthroughResult:
        """The Kandinsky pipeline of one image, stage by stage, exactly as imagine() runs it. With a job id: that
        job's image `index` (Explain this image), with the job's settings and that image's seed."""
        if not 1 <= req.show_every <= 50:
            raise InvalidRequest(f"show_every {req.show_every} is out of range: 1 to 50")
        row = 0
        if req.job_id:
            spec, task = self._explained(req)
            row = req.index
        else:
            if not prompt.check_text("prompt", req.prompt).strip():
                raise InvalidRequest("the prompt is empty; write what to draw")
            spec = self._spec(req.model or "mini", "text2img")
            d = spec.defaults
            parts = [(req.prompt.strip(), 1.0)]
            task = ImageTask(
                seeds=self._seeds(req.seed, 1),
                width=d.width,
                height=d.height,
                num_inference_steps=self._steps(spec, _default(req.num_inference_steps, d.num_inference_steps), None),
                guidance_scale=d.guidance_scale,
                prior_num_inference_steps=d.prior_num_inference_steps,
                prior_guidance_scale=d.prior_guidance_scale,
                parts=parts,
                **_guard(spec, parts),  # as imagine() would draw it
            )
        if spec.family != "kandinsky":
            raise CapabilityError(f"the walkthrough shows a Kandinsky pipeline; {spec.name} is not one")
        if req.guidance_scale is not None:
            task = replace(task, guidance_scale=self._guidance(spec, req.guidance_scale))
        work = {"task": task, "show_every": req.show_every, "row": row}
        return await self._answer(WorkItem(new_job_id(), "walkthrough", spec.name, work), req.origin)

    def _explained(self, req: WalkthroughRequest) -> tuple[catalog.ModelSpec, ImageTask]:
        """The task that drew job `req.job_id`, rebuilt from its stored settings: all its seeds, as one batch (the
        picture comes out exactly as the job drew it when the job ran on its own, not batched with others')."""
        source, spec, _ = self._source(req.job_id, req.index, "text2img", req.origin)
        r = source.request
        kind = source.kind
        if kind not in ("imagine", "mix", "enhance"):
            raise InvalidRequest(
                f"job {source.id} ({kind}) starts from another picture; Explain this image follows images drawn from "
                "words alone: explain the job it came from"
            )
        if r.get("image_prompts") or not r.get("parts"):
            raise InvalidRequest(
                f"job {source.id} mixed in pictures, which are not kept with the job; Explain this image follows "
                "images drawn from words alone"
            )
        if r.get("stop") not in (None, 100):
            raise InvalidRequest(f"job {source.id} stopped early (--stop); Explain this image needs every step")
        task = ImageTask(
            seeds=list(source.seeds),
            width=source.width,
            height=source.height,
            num_inference_steps=r["num_inference_steps"],
            guidance_scale=r["guidance_scale"],
            prior_num_inference_steps=r["prior_num_inference_steps"],
            prior_guidance_scale=r["prior_guidance_scale"],
            prior_scheduler=r.get("prior_scheduler"),
            parts=[tuple(p) for p in r["parts"]],
            negative_prompt=r.get("negative_prompt") or "",
            chaos=r.get("chaos") or 0,
            tile=bool(r.get("tile")),
            scheduler=r.get("scheduler"),
            timesteps=tuple(r["timesteps"]) if r.get("timesteps") else None,
            draft=bool(r.get("distilled")),
            fast_decode=bool(r.get("fast_decode")),  # drafts stored before the tiny decoder have none: the MoVQ's
            **_kept_guard(r),
        )
        return spec, task

    async def limits(self, req: LimitsRequest) -> LimitsResult:
        """A live limit of text-to-image (the systems lesson): its prompt drawn by the bundled mini with 8 seeds, two
        grids stored as the user's jobs, each picture checked by the project's detector."""
        from hub.explainer import limits

        if req.case not in limits.CASES:
            raise InvalidRequest(f"case {shown(req.case, 40)} is not one of {', '.join(limits.CASES)}")
        if req.lang not in ("en", "es"):
            raise InvalidRequest(f"language {shown(req.lang, 20)} is not one of en, es")
        seed = _whole("seed", req.seed, f"0 to {SEED_MOD - 1}")
        if not 0 <= seed < SEED_MOD:
            raise InvalidRequest(f"seed {seed} is not valid: 0 to {SEED_MOD - 1}")
        text = limits.prompt(req.case, req.lang)
        handles = [
            await self.imagine(ImagineRequest(text, model="mini", seed=(seed + k) % SEED_MOD, origin=req.origin))
            for k in range(0, limits.SEEDS, MAX_IMAGES)
        ]
        results = [await handle.result() for handle in handles]
        images = tuple(path for r in results for path in r.images)

        def judged() -> list[dict[str, bool]]:
            out = []
            for path in images:
                with PIL.Image.open(path) as picture:
                    out.append(limits.judge(req.case, picture.convert("RGB")))
            return out

        verdicts = tuple(await asyncio.to_thread(judged))
        checks = limits.CASES[req.case].checks
        return LimitsResult(
            case=req.case,
            prompt=text,
            job_ids=tuple(r.job_id for r in results),
            images=images,
            seeds=tuple(s for r in results for s in r.seeds),
            verdicts=verdicts,
            held={check: sum(v[check] for v in verdicts) for check in checks},
        )

    async def expand(self, req: ExpandRequest) -> JobHandle:
        if not prompt.check_text("prompt", req.prompt).strip():
            raise InvalidRequest("the prompt to expand is empty")
        if not 1 <= _whole("max_new_tokens", req.max_new_tokens) <= 200:
            raise InvalidRequest(f"max_new_tokens {req.max_new_tokens} is out of range: 1 to 200")
        spec = self._spec(req.model, "expand", self.default_text_model)
        return self._submit_text(spec, "expand", req, req.origin, {"prompt": req.prompt})

    async def chat(self, req: ChatRequest) -> JobHandle:
        if not req.messages or not prompt.check_text("message", req.messages[-1].content, 20000).strip():
            raise InvalidRequest("the message is empty")
        for m in req.messages:
            prompt.check_text("message", m.content, 20000)
            if m.role not in ("system", "user", "assistant"):
                raise InvalidRequest("a message's role must be user, assistant or system")
        _number("temperature", req.temperature, 0, 2)
        if not 1 <= _whole("max_new_tokens", req.max_new_tokens) <= 2048:
            raise InvalidRequest(f"max_new_tokens {req.max_new_tokens} is out of range: 1 to 2048")
        spec = self._spec(req.model, "chat", self.chat_model or self.default_text_model)
        return self._submit_text(spec, "chat", req, req.origin, {"messages": [asdict(m) for m in req.messages]})

    def _submit_text(self, spec, kind, req, origin: Origin, request: dict) -> JobHandle:
        if req.seed is not None:
            _whole("seed", req.seed, f"0 to {SEED_MOD - 1}")
        if kind == "expand":
            task = {"prompt": req.prompt, "max_new_tokens": req.max_new_tokens, "seed": req.seed}
        else:
            task = {
                "messages": request["messages"],
                "max_new_tokens": req.max_new_tokens,
                "temperature": req.temperature,
                "seed": req.seed,
            }
        item = WorkItem(new_job_id(), kind, spec.name, task)
        return self.jobs.submit(item, origin, dict(kind=kind, model=spec.name, request=request))

    # --- jobs ---------------------------------------------------------------------------------
    def get_job(self, job_id: str, viewer: Origin | None = None) -> JobRecord:
        """A stored job, if `viewer` may see it: its owner, an admin, or anyone when the job is shared.
        viewer None: the host itself (the CLI, tests), which sees every job."""
        return self._open(job_id, viewer)

    def _open(self, job_id: str, viewer: Origin | None, manage: bool = False) -> JobRecord:
        """The job `viewer` may open (manage: cancel or change its sharing, which only its owner or an admin may).
        Someone else's private job answers exactly like a job that does not exist: ids reveal nothing."""
        job_id = job_id.strip() if isinstance(job_id, str) else ""
        if not job_id:
            raise InvalidRequest("no job id given: paste the id of one of your jobs (History lists them)")
        if len(job_id) > 40 or not job_id.isascii() or not job_id.isalnum():
            raise JobNotFound(job_id)
        record = self.store.get(job_id)
        if viewer is None or viewer.admin or record.user == viewer.user:
            return record
        if record.shared and not manage:
            return record
        if record.shared:
            raise Forbidden(f"job {job_id} is shared with you, but only its owner (or an admin) can change it")
        raise JobNotFound(job_id)

    def list_jobs(self, user: str | None = None, limit: int = 50, offset: int = 0) -> list[JobRecord]:
        return self.store.list(user=user, limit=limit, offset=offset)

    def cancel(self, job_id: str, viewer: Origin | None = None) -> bool:
        """Cancel a queued or running job (its owner or an admin); False when it had already ended."""
        record = self._open(job_id, viewer, manage=True)
        return self.jobs.cancel(record.id)

    def share(self, job_id: str, shared: bool, viewer: Origin | None = None) -> JobRecord:
        """Share a job (anyone with its id may view, reuse and vary it) or make it private again: owner or admin."""
        record = self._open(job_id, viewer, manage=True)
        self.store.set_shared(record.id, shared)
        return self.store.get(record.id)

    # --- what front ends may ask without running a model -----------------------------------------
    def check_prompt(self, text: str) -> None:
        """Refuse a prompt with a bad flag at once (PromptError says which and what is allowed); microseconds."""
        prompt.parse(text)

    def png_info(self, data: bytes) -> dict:
        """The generation parameters inside a PNG (Lienzo's, AUTOMATIC1111's or another tool's):
        {"prompt", "negative_prompt", and each setting by its A1111 name}. ImageError when there are none."""
        from hub.pnginfo import read_parameters

        params = read_parameters(data)
        return {"prompt": params.prompt, "negative_prompt": params.negative_prompt, **params.settings}

    async def ask_tutor(self, req: TutorRequest) -> AsyncIterator[str]:
        """The tutor: passages of the course notes for the question, in its language (English or Spanish). With a
        chat model here, an answer grounded in them, streamed as it grows (the last text adds the citations);
        without one, the passages themselves, honestly labelled."""
        from hub import tutor

        question = prompt.check_text("question", req.question, 4000).strip()
        if not question:
            raise InvalidRequest("write a question first")
        if self._library is None:
            from hub.explainer import TEXTS

            self._library = tutor.Library(TEXTS)
        lang = tutor.detect_language(question)
        passages = self._library.search(question, lang)
        if self.chat_model is None:
            yield tutor.offline_answer(question, passages, lang)
            return
        turns = [m for m in req.history[-6:] if m.role in ("user", "assistant")]
        messages = (ChatMessage("system", tutor.system_prompt(passages, lang)), *turns, ChatMessage("user", question))
        job = await self.chat(ChatRequest(messages, origin=req.origin))
        async for event in job.events():
            if event.text:
                yield event.text
        result = await job.result()
        sources = "; ".join(p.citation for p in passages)
        yield result.text + (f"\n\n*{sources}*" if sources else "")

    def waiting(self) -> int:
        """Jobs waiting in the queue, all users together."""
        return self.scheduler.waiting

    def recovered_jobs(self, surface: str) -> list[tuple[JobRecord, Any, JobHandle]]:
        """Jobs this server took over after a restart that a front end on `surface` must answer when they end:
        (record, the reply address its Origin carried, handle). Discord edits the job's message with the result."""
        out = []
        for record in self.store.with_reply(surface):
            handle = self.scheduler.handle(record.id)
            if handle is not None:
                out.append((record, self.store.saved_work(record.id)[1], handle))
        return out
