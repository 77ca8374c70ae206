"""The hub's tools for agents over MCP (the official `mcp` SDK), served beside the web hub at /gradio_api/mcp/.

Gradio's own MCP server turns each web endpoint into a tool as it is: a tool's result is the repr of whatever the
page receives (a gallery's list of temp paths, `{'__type__': 'update'}`), parameters are required unless the
Python function has a default, a Radio of numbers gets a string schema, and a Chatbot's state breaks `chat`. An
agent needs the opposite, so the tools are written here for it, on the same Hub the web endpoints call:

- each tool is named as the web endpoint that does the same thing (`/imagine` is `imagine`), every parameter is
  described with its units, range and default, and only what has no sensible default is required;
- arguments are checked here first, and a wrong one is answered in words (which parameter, what is allowed);
- images come back as MCP image content *and* as structured JSON (job id, seeds, size, model, settings, and URLs
  the client can fetch: unguessable names, served to whoever holds them, as the web hub serves results);
- every MCP session is a user of its own (demos/identity.py derives its id from the session id the server
  issued), so `history` shows that connection's jobs, and a job id from another session opens only if shared;
- the Learn tools train to the end and return their final pictures as images and their curves as numbers.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import logging
import math
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from demos.common import origin
from hub.errors import LienzoError
from hub.service import example_picture, learn_catalogue
from hub.types import (
    ASPECTS,
    SCHEDULERS,
    ChatMessage,
    DescribeRequest,
    EnhanceRequest,
    ExpandRequest,
    ImagineRequest,
    LessonRequest,
    MixItem,
    MixRequest,
    TutorRequest,
    UpscaleRequest,
    VaryRequest,
    WalkthroughRequest,
)

log = logging.getLogger("lienzo.mcp")
PATH = "/gradio_api/mcp"  # where agents connect (the URL Gradio's MCP server used, so clients keep working)
REQUIRED = object()
MAX_FILES = 20_000  # result URLs remembered (the oldest are forgotten first)


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # string | integer | number | boolean | array
    description: str
    default: Any = REQUIRED
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    max_length: int | None = None
    items: dict | None = None  # an array's item schema

    def schema(self) -> dict:
        s: dict[str, Any] = {"type": self.kind, "description": self.description}
        if self.default is not REQUIRED and self.default is not None:
            s["default"] = self.default
        if self.low is not None:
            s["minimum"] = self.low
        if self.high is not None:
            s["maximum"] = self.high
        if self.choices:
            s["enum"] = list(self.choices)
        if self.max_length:
            s["maxLength"] = self.max_length
        if self.items:
            s["items"] = self.items
        return s

    def check(self, value) -> Any:
        """The value as the tool uses it; ValueError says what was wrong and what is allowed."""
        name, kind = self.name, self.kind
        if value is None:
            if self.default is REQUIRED:
                raise ValueError(f"{name} is missing: {self.description}")
            return self.default
        if kind == "boolean":
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false")
            return value
        if kind in ("integer", "number"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a number{self._range()}")
            if kind == "integer":
                if value != int(value):
                    raise ValueError(f"{name} must be a whole number{self._range()}")
                value = int(value)
            if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
                raise ValueError(f"{name} {value:g} is out of range{self._range()}")
            return value
        if kind == "string":
            if not isinstance(value, str):
                raise ValueError(f"{name} must be text")
            if self.max_length and len(value) > self.max_length:
                raise ValueError(f"{name} is {len(value):,} characters long; at most {self.max_length:,}")
            if self.choices and value not in self.choices:
                raise ValueError(f"{name} must be one of: {', '.join(self.choices)}")
            return value
        if kind == "array":
            if not isinstance(value, list):
                raise ValueError(f"{name} must be a list")
            return value
        raise AssertionError(kind)

    def _range(self) -> str:
        if self.low is not None and self.high is not None:
            return f": {self.low:g} to {self.high:g}"
        return ""


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    params: tuple[Param, ...]
    run: Callable[..., Awaitable[tuple[list, dict]]]
    output: dict | None = None
    title: str = ""
    read_only: bool = False

    def definition(self, types):
        required = [p.name for p in self.params if p.default is REQUIRED]
        schema = {
            "type": "object",
            "properties": {p.name: p.schema() for p in self.params},
            "additionalProperties": False,
        }
        if required:
            schema["required"] = required
        return types.Tool(
            name=self.name,
            title=self.title or None,
            description=self.description,
            inputSchema=schema,
            outputSchema=self.output,
            annotations=types.ToolAnnotations(readOnlyHint=self.read_only, openWorldHint=False),
        )

    def arguments(self, given: dict) -> dict:
        known = {p.name for p in self.params}
        unknown = sorted(set(given) - known)
        if unknown:
            takes = ", ".join(p.name for p in self.params) or "no parameters"
            raise ValueError(f"{self.name} has no parameter {', '.join(unknown)}; it takes: {takes}")
        return {p.name: p.check(given.get(p.name)) for p in self.params}


@dataclass
class Call:
    """What a tool's code needs about the call it serves: the Hub, who asks, where results are fetched, and how to
    report progress."""

    hub: Any
    who: Any
    base_url: str
    files: Files
    progress: Callable[[float, float | None, str], Awaitable[None]]

    def url(self, path) -> str:
        return f"{self.base_url}{PATH}/files/{self.files.add(path)}"


@dataclass
class Files:
    """Result files by an unguessable name: whoever was given the URL can fetch it, nobody can list them."""

    paths: OrderedDict = field(default_factory=OrderedDict)

    def add(self, path) -> str:
        path = Path(path)
        name = f"{secrets.token_urlsafe(18)}{path.suffix}"
        self.paths[name] = path
        while len(self.paths) > MAX_FILES:
            self.paths.popitem(last=False)
        return name

    def get(self, name: str) -> Path | None:
        return self.paths.get(name)


# --- what results look like to an agent ---------------------------------------------------------------------
IMAGE_RESULT = {
    "type": "object",
    "properties": {
        "job_id": {"type": "string", "description": "give it to vary, upscale, reuse or share"},
        "kind": {"type": "string"},
        "model": {"type": "string"},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "seeds": {"type": "array", "items": {"type": "integer"}},
        "prompt": {"type": "string", "description": "the prompt as drawn (flags taken out)"},
        "negative_prompt": {"type": "string"},
        "parameters": {"type": "string", "description": "AUTOMATIC1111-style settings stored in each PNG"},
        "images": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer", "description": "1-based, as vary/upscale take it"},
                    "seed": {"type": "integer"},
                    "url": {"type": "string"},
                },
                "required": ["index", "seed", "url"],
            },
        },
        "grid_url": {"type": ["string", "null"]},
        "notes": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["job_id", "model", "width", "height", "seeds", "images"],
}


def _image_content(types, path_or_image) -> Any:
    if isinstance(path_or_image, (str, Path)):
        data = Path(path_or_image).read_bytes()
    else:
        buf = io.BytesIO()
        path_or_image.save(buf, format="PNG")
        data = buf.getvalue()
    return types.ImageContent(type="image", data=base64.b64encode(data).decode("ascii"), mimeType="image/png")


async def _follow(call: Call, job) -> Any:
    async for event in job.events():
        if event.total:
            await call.progress(event.step, event.total, event.stage)
        elif event.stage == "queued" and event.position:
            await call.progress(0, None, f"queued: position {event.position}")
    return await job.result()


def _image_answer(call: Call, types, result) -> tuple[list, dict]:
    images = [
        {"index": i + 1, "seed": s, "url": call.url(p)} for i, (p, s) in enumerate(zip(result.images, result.seeds))
    ]
    data = {
        "job_id": result.job_id,
        "kind": result.kind,
        "model": result.model,
        "width": result.width,
        "height": result.height,
        "seeds": list(result.seeds),
        "prompt": result.prompt,
        "negative_prompt": result.negative_prompt,
        "parameters": result.parameters[0] if result.parameters else "",
        "images": images,
        "grid_url": call.url(result.grid) if result.grid else None,
        "notes": list(result.notes),
    }
    summary = (
        f"job {result.job_id}: {len(images)} image(s) of {result.width}x{result.height} by {result.model}, seeds "
        f"{', '.join(map(str, result.seeds))}. Vary, upscale or reuse with this job_id and an image index (1-"
        f"{len(images)})."
    )
    summary += "".join(f"\nNote: {n}" for n in result.notes)
    content = [types.TextContent(type="text", text=summary)]
    content += [_image_content(types, p) for p in result.images]
    return content, data


def _decode_image(param: str, value: str) -> bytes:
    """An image an agent sent as base64 (or a data: URL). Never a path: a string is never read from disk."""
    text = value.strip()
    if text.startswith("data:"):
        head, _, text = text.partition(",")
        if ";base64" not in head:
            raise ValueError(f"{param}: a data: URL must be base64 (data:image/png;base64,...)")
    if text.startswith(("http://", "https://", "/", "file:")):
        raise ValueError(f"{param}: send the image itself, base64-encoded (or as a data:image/png;base64 URL)")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{param} is not base64: send the image file's bytes base64-encoded") from None


# --- the tools ----------------------------------------------------------------------------------------------
def _ids(what: str) -> tuple[Param, Param]:
    return (
        Param("job_id", "string", f"the job whose image to {what} (an id from imagine, mix or history)", max_length=64),
        Param("index", "integer", "which image of the job, 1 to 4", 1, low=1, high=4),
    )


def build_tools(hub) -> dict[str, Tool]:
    learn = learn_catalogue()
    models = [spec.name for spec, avail in hub.models() if avail.ok and spec.can("text2img")] or [
        hub.default_image_model
    ]
    d = next(spec.defaults for spec, _ in hub.models() if spec.name == hub.default_image_model)
    tools: list[Tool] = []

    def tool(name, description, *params, output=None, title="", read_only=False):
        def register(fn):
            tools.append(Tool(name, description, tuple(params), fn, output, title, read_only))
            return fn

        return register

    @tool(
        "imagine",
        "Draw images from a text prompt. The prompt may carry Midjourney-style flags: --ar 16:9 (aspect), --seed 7, "
        "--no text (negative), --chaos 0-100, --stylize, --tile, --draft. Returns the images as image content, and "
        "a job_id to vary, upscale, enhance or share them. Takes seconds (the bundled mini) to minutes.",
        Param("prompt", "string", "what to draw, in English or Spanish, optionally with flags", max_length=4000),
        Param("negative", "string", "what to keep out of the images (as --no)", ""),
        Param("model", "string", f"which model draws (default {hub.default_image_model})", None, choices=tuple(models)),
        Param("aspect", "string", "aspect ratio, width:height; a --ar flag in the prompt wins", "1:1", choices=ASPECTS),
        Param(
            "steps",
            "integer",
            f"decoder denoising steps; more is slower and finer (model default: {d.num_inference_steps})",
            None,
            low=1,
            high=100,
        ),
        Param(
            "prior_steps",
            "integer",
            f"prior denoising steps of Kandinsky models (model default: {d.prior_num_inference_steps})",
            None,
            low=2,
            high=100,
        ),
        Param(
            "guidance",
            "number",
            f"classifier-free guidance: how closely to follow the prompt (model default: {d.guidance_scale:g})",
            None,
            low=0,
            high=20,
        ),
        Param(
            "seed",
            "integer",
            "seed of the first image (the others take seed+1, seed+2 ...); leave out for a random one",
            None,
            low=0,
            high=2**32 - 1,
        ),
        Param("num_images", "integer", "how many images", 4, low=1, high=4),
        Param(
            "scheduler",
            "string",
            "diffusers scheduler, or default for the model's own",
            "default",
            choices=("default", *SCHEDULERS),
        ),
        Param("draft", "boolean", "a fast few-step draft; enhance_draft redraws one image at full quality", False),
        output=IMAGE_RESULT,
        title="Draw images",
    )
    async def imagine(call, types, a):
        req = ImagineRequest(
            a["prompt"],
            negative_prompt=a["negative"],
            model=a["model"],
            num_images=a["num_images"],
            aspect=a["aspect"],
            seed=a["seed"],
            origin=call.who,
            num_inference_steps=None if a["draft"] else a["steps"],
            prior_num_inference_steps=None if a["draft"] else a["prior_steps"],
            guidance_scale=a["guidance"],
            scheduler=None if a["draft"] or a["scheduler"] == "default" else a["scheduler"],
            draft=a["draft"],
        )
        return _image_answer(call, types, await _follow(call, await call.hub.imagine(req)))

    def image_action(name, description, make, title):
        @tool(name, description, *_ids(title.lower()), output=IMAGE_RESULT, title=title)
        async def act(call, types, a):
            job = await make(call.hub, a["job_id"], a["index"] - 1, call.who)
            return _image_answer(call, types, await _follow(call, job))

    image_action(
        "vary",
        "New images close to one image of a job, keeping its composition (Midjourney's Vary (Subtle)). Inherits "
        "the job's prompt and settings.",
        lambda hub, j, i, who: hub.vary(VaryRequest(j, i, "subtle", origin=who)),
        "Vary",
    )
    image_action(
        "vary_strong",
        "New images with the idea of one image of a job in a new composition (Midjourney's Vary (Strong)).",
        lambda hub, j, i, who: hub.vary(VaryRequest(j, i, "strong", origin=who)),
        "Vary strongly",
    )
    image_action(
        "upscale",
        "One image of a job at twice its width and height, re-detailed.",
        lambda hub, j, i, who: hub.upscale(UpscaleRequest(j, i, origin=who)),
        "Upscale",
    )
    image_action(
        "enhance_draft",
        "One image of a draft job (made with draft=true) drawn again at full quality with the same seed.",
        lambda hub, j, i, who: hub.enhance(EnhanceRequest(j, i, origin=who)),
        "Enhance",
    )

    @tool(
        "expand_prompt",
        "Enhance a short prompt into a fuller scene description with the text model.",
        Param("prompt", "string", "a short idea, e.g. 'red circle'", max_length=1000),
        output={
            "type": "object",
            "properties": {"text": {"type": "string"}, "added": {"type": "string"}},
            "required": ["text", "added"],
        },
        title="Expand a prompt",
    )
    async def expand_prompt(call, types, a):
        job = await call.hub.expand(ExpandRequest(a["prompt"], origin=call.who))
        result = await job.result()
        data = {"text": result.text, "added": result.added}
        return [types.TextContent(type="text", text=result.text)], data

    @tool(
        "mix",
        "Blend up to 5 texts and images by weight into new images (Kandinsky's image-embedding interpolation).",
        Param(
            "items",
            "array",
            '1 to 5 ingredients, each {"text": ...} or {"image": base64 PNG/JPEG/WebP}, with an optional '
            '"weight" from -1 to 2 (default 1)',
            items={
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "image": {"type": "string", "description": "the image file, base64-encoded"},
                    "weight": {"type": "number", "minimum": -1, "maximum": 2, "default": 1},
                },
            },
        ),
        Param("seed", "integer", "seed of the first image; leave out for a random one", None, low=0, high=2**32 - 1),
        output=IMAGE_RESULT,
        title="Mix texts and images",
    )
    async def mix(call, types, a):
        items = []
        if not 1 <= len(a["items"]) <= 5:
            raise ValueError(f"items: give 1 to 5 ingredients, not {len(a['items'])}")
        for i, item in enumerate(a["items"], 1):
            if not isinstance(item, dict) or set(item) - {"text", "image", "weight"}:
                raise ValueError(f"items[{i}] must be an object with text or image, and weight")
            weight = item.get("weight", 1)
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not -1 <= weight <= 2:
                raise ValueError(f"items[{i}].weight must be a number from -1 to 2")
            text, image = item.get("text"), item.get("image")
            if (text is None) == (image is None):
                raise ValueError(f"items[{i}] needs a text or an image (one of them)")
            if image is not None and not isinstance(image, str):
                raise ValueError(f"items[{i}].image must be base64 text")
            if text is not None and not isinstance(text, str):
                raise ValueError(f"items[{i}].text must be text")
            picture = _decode_image(f"items[{i}].image", image) if image is not None else None
            items.append(MixItem(text=text, image=picture, weight=float(weight)))
        job = await call.hub.mix(MixRequest(items=tuple(items), seed=a["seed"], origin=call.who))
        return _image_answer(call, types, await _follow(call, job))

    @tool(
        "describe",
        "Four prompts the model can draw that fit an image, best first, each with its CLIP similarity (-1 to 1).",
        Param("image", "string", "the image file (PNG, JPEG or WebP), base64-encoded", max_length=30_000_000),
        output={
            "type": "object",
            "properties": {
                "prompts": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"prompt": {"type": "string"}, "similarity": {"type": "number"}},
                    },
                }
            },
            "required": ["prompts"],
        },
        title="Describe an image",
        read_only=True,
    )
    async def describe(call, types, a):
        result = await call.hub.describe(DescribeRequest(_decode_image("image", a["image"]), origin=call.who))
        prompts = [{"prompt": p, "similarity": round(s, 4)} for p, s in zip(result.prompts, result.scores)]
        text = "\n".join(f"{i}. {p['prompt']} ({p['similarity']:.3f})" for i, p in enumerate(prompts, 1))
        return [types.TextContent(type="text", text=text)], {"prompts": prompts}

    @tool(
        "chat",
        "Ask the tutor about GANs, VAEs, RNNs/LSTMs, transformers, autoregressive or diffusion models; it answers "
        "from the course notes, in the question's language (English or Spanish), and cites them.",
        Param("message", "string", "the question", max_length=4000),
        Param(
            "history",
            "array",
            'the conversation so far, oldest first: [{"role": "user" | "assistant", "content": text}]',
            [],
            items={
                "type": "object",
                "properties": {
                    "role": {"type": "string", "enum": ["user", "assistant"]},
                    "content": {"type": "string"},
                },
                "required": ["role", "content"],
            },
        ),
        output={"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]},
        title="Ask the tutor",
        read_only=True,
    )
    async def chat(call, types, a):
        turns = []
        for i, m in enumerate(a["history"][-6:], 1):
            if (
                not isinstance(m, dict)
                or m.get("role") not in ("user", "assistant")
                or not isinstance(m.get("content"), str)
            ):
                raise ValueError(f'history[{i}] must be {{"role": "user" or "assistant", "content": text}}')
            turns.append(ChatMessage(m["role"], m["content"]))
        answer = ""
        async for answer in call.hub.ask_tutor(TutorRequest(a["message"], tuple(turns), origin=call.who)):
            pass
        return [types.TextContent(type="text", text=answer)], {"answer": answer}

    @tool(
        "history",
        "Your jobs (this MCP session's), newest first: id, kind, status, model, prompt, seeds, when, shared.",
        Param("limit", "integer", "how many jobs", 20, low=1, high=100),
        output={
            "type": "object",
            "properties": {"jobs": {"type": "array", "items": {"type": "object"}}},
            "required": ["jobs"],
        },
        title="Your jobs",
        read_only=True,
    )
    async def history(call, types, a):
        jobs = call.hub.list_jobs(user=call.who.user, limit=a["limit"])
        rows = [
            {
                "job_id": j.id,
                "kind": j.kind,
                "status": j.status,
                "model": j.model,
                "prompt": j.request.get("prompt", ""),
                "seeds": list(j.seeds),
                "created_at": j.created_at.isoformat(timespec="seconds"),
                "shared": bool(j.shared),
                "thumbnail_url": call.url(j.grid or j.images[0]) if j.status == "done" and j.images else None,
            }
            for j in jobs
        ]
        text = "\n".join(f"{r['job_id']} · {r['kind']} · {r['status']} · {r['prompt'][:80]}" for r in rows)
        return [types.TextContent(type="text", text=text or "no jobs yet")], {"jobs": rows}

    @tool(
        "reuse",
        "The settings a job was made with (yours, or one shared with you), to draw it again or change them.",
        Param("job_id", "string", "the job's id", max_length=64),
        output={"type": "object", "properties": {"settings": {"type": "object"}}, "required": ["settings"]},
        title="A job's settings",
        read_only=True,
    )
    async def reuse(call, types, a):
        job = call.hub.get_job(_job_id(a["job_id"]), call.who)
        r = job.request
        settings = {
            "prompt": r.get("prompt", ""),
            "negative": r.get("negative_prompt", ""),
            "model": job.model,
            "steps": r.get("num_inference_steps"),
            "prior_steps": r.get("prior_num_inference_steps"),
            "guidance": r.get("guidance_scale"),
            "seed": job.seeds[0] if job.seeds else None,
        }
        text = ", ".join(f"{k}: {v}" for k, v in settings.items() if v not in (None, ""))
        return [types.TextContent(type="text", text=text)], {"settings": settings}

    @tool(
        "share",
        "Share one of your jobs (anyone with its id can then open, reuse and vary it) or make it private again.",
        Param("job_id", "string", "the id of one of your jobs", max_length=64),
        Param("shared", "boolean", "true to share, false to make it private", True),
        output={
            "type": "object",
            "properties": {"job_id": {"type": "string"}, "shared": {"type": "boolean"}},
            "required": ["job_id", "shared"],
        },
        title="Share a job",
    )
    async def share(call, types, a):
        job = call.hub.share(_job_id(a["job_id"]), a["shared"], call.who)
        text = f"job {job.id} is {'shared' if job.shared else 'private'}"
        return [types.TextContent(type="text", text=text)], {"job_id": job.id, "shared": bool(job.shared)}

    @tool(
        "png_info",
        "The generation settings stored in a PNG made by Lienzo, AUTOMATIC1111, ComfyUI or InvokeAI.",
        Param("image", "string", "the PNG file, base64-encoded", max_length=30_000_000),
        output={"type": "object", "properties": {"parameters": {"type": "object"}}, "required": ["parameters"]},
        title="Read a PNG's settings",
        read_only=True,
    )
    async def png_info(call, types, a):
        info = call.hub.png_info(_decode_image("image", a["image"]))
        text = "\n".join(f"{k}: {v}" for k, v in info.items())
        return [types.TextContent(type="text", text=text)], {"parameters": info}

    # --- Learn: each trains its small teaching model to the end (seconds to a minute) ---
    def lesson_params(demo: str, descriptions: dict) -> list[Param]:
        out = []
        for name, allowed in learn.settings[demo].items():
            default = learn.defaults[demo].get(name)
            text = descriptions.get(name, name) + ("" if default is not None else " (default: the preset's)")
            if isinstance(allowed, tuple) and len(allowed) == 3 and isinstance(allowed[2], type):
                low, high, kind = allowed
                out.append(Param(name, "integer" if kind is int else "number", text, default, low=low, high=high))
            elif isinstance(allowed, tuple):
                out.append(Param(name, "string", text, default, choices=tuple(allowed)))
            else:
                out.append(Param(name, "string", text, default, max_length=200))
        return out

    points = Param(
        "points",
        "array",
        f"with data=custom: your 2-D points, 3 to 5000 [x, y] pairs within ±{learn.extent:g}",
        None,
        items={"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
    )
    lessons = {
        "explain_gan": (
            "gan",
            "Train a 2-D GAN from scratch on a ring of 8 modes, two moons or your points; returns its samples over "
            "the discriminator's map, the loss curves and how many modes it covers (1 is a collapse).",
            {
                "preset": "stable or mode collapse (its learning rates, noise size, D steps and loss)",
                "data": "the target distribution",
                "noise_dim": "the generator's noise size",
                "lr_g": "the generator's learning rate",
                "lr_d": "the discriminator's learning rate",
                "d_steps": "discriminator steps per generator step",
                "loss": "the GAN loss",
            },
            True,
        ),
        "explain_vae": (
            "vae",
            "Train a VAE on 8x8 digits; returns reconstructions, loss curves, the error against PCA and its latent "
            "space.",
            {"latent": "latent dimensions", "beta": "weight of the KL term (β-VAE)"},
            False,
        ),
        "explain_chars": (
            "chars",
            "Train a character-level LSTM or transformer on a small text; returns its sample, validation loss "
            "against a bigram baseline and next-character probabilities.",
            {
                "kind": "lstm or transformer",
                "lang": "the training text's language",
                "steps": "training steps",
                "prompt": "the text the sample starts from",
                "temperature": "sampling temperature (low: safe, high: wild)",
            },
            False,
        ),
        "explain_pixelcnn": (
            "pixelcnn",
            "Train a PixelCNN on binarised digits; returns samples drawn pixel by pixel and each pixel's probability.",
            {},
            False,
        ),
        "explain_wavenet": (
            "wavenet",
            "Train a tiny WaveNet on a two-tone signal; returns its next-sample predictions against the signal.",
            {},
            False,
        ),
        "explain_diffusion": (
            "diffusion2d",
            "Train a 2-D diffusion model; returns its samples, loss curve, modes covered and reverse trajectories.",
            {"data": "the target distribution", "steps": "training steps"},
            True,
        ),
    }
    for name, (demo, description, texts, takes_points) in lessons.items():
        params = lesson_params(demo, texts) + ([points] if takes_points else [])
        tool(name, description, *params, title=f"Learn: {demo}", read_only=True)(_lesson(demo))

    @tool(
        "explain_noise",
        "Noise an image to step t of T=1000 as diffusion training does; returns the noised image and the "
        "signal-to-noise ratio of both schedules.",
        Param(
            "image",
            "string",
            "the image, base64-encoded (default: a scene of the mini's world)",
            None,
            max_length=30_000_000,
        ),
        *lesson_params(
            "noise", {"step": "the step t (1 = barely noised, 1000 = pure noise)", "schedule": "the noise schedule"}
        ),
        title="Learn: noise",
        read_only=True,
    )
    async def explain_noise(call, types, a):
        image = _decode_image("image", a["image"]) if a["image"] else example_picture()
        params = {k: a[k] for k in ("step", "schedule")}
        return await _run_lesson(call, types, LessonRequest("noise", params, image=image, origin=call.who))

    @tool(
        "explain_walkthrough",
        "The bundled mini Kandinsky, stage by stage, for one prompt: its tokens, text and image embeddings, the "
        "decoder's latents at several steps and the final image (the same image imagine draws with that seed).",
        Param(
            "prompt", "string", "what to draw (English or Spanish)", "a red circle above a blue square", max_length=1000
        ),
        Param("seed", "integer", "the seed", 0, low=0, high=2**32 - 1),
        title="Learn: the pipeline step by step",
        read_only=True,
    )
    async def explain_walkthrough(call, types, a):
        r = await call.hub.walkthrough(WalkthroughRequest(a["prompt"], seed=a["seed"], origin=call.who))
        data = {
            "tokens": list(r.tokens),
            "token_ids": list(r.token_ids),
            "token_limit": r.token_limit,
            "cut": r.cut,
            "text_embedding": [round(float(v), 5) for v in r.text_embedding],
            "image_embedding": [round(float(v), 5) for v in r.image_embedding],
            "text_image_similarity": round(float(r.text_image_similarity), 4),
            "zero_image_similarity": round(float(r.zero_image_similarity), 4),
            "steps": [s for s, _ in r.steps],
        }
        text = (
            f"{len(r.tokens)} tokens: {' '.join(r.tokens)}. Cosine(text embedding, prior's image embedding) = "
            f"{r.text_image_similarity:.3f} (baseline with a black image's embedding: {r.zero_image_similarity:.3f}). "
            f"Images: the decoder's latents at steps {', '.join(str(s) for s, _ in r.steps)}, then the final image."
        )
        content = [types.TextContent(type="text", text=text)]
        content += [_image_content(types, im) for _, im in r.steps] + [_image_content(types, r.image)]
        return content, data

    return {t.name: t for t in tools}


def _job_id(value: str) -> str:
    if not value.strip():
        raise ValueError("job_id is empty: give the id of one of your jobs (history lists them)")
    return value.strip()


def _lesson(demo: str):
    async def run(call, types, a):
        a = {k: v for k, v in a.items() if v is not None}  # left out: the lesson's default (the GAN's: its preset's)
        pts = a.pop("points", None)
        if pts is not None:
            if not 3 <= len(pts) <= 5000 or not all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) for v in p) for p in pts
            ):
                raise ValueError("points must be 3 to 5000 [x, y] pairs of numbers")
            pts = tuple((float(x), float(y)) for x, y in pts)
        if a.get("data") == "custom" and pts is None:
            raise ValueError("data=custom needs points: 3 or more [x, y] pairs")
        return await _run_lesson(call, types, LessonRequest(demo, a, points=pts, origin=call.who))

    return run


async def _run_lesson(call: Call, types, req: LessonRequest) -> tuple[list, dict]:
    """Train to the end; the final frame's pictures become image content, its numbers and texts data (the last
    training frame's figures included: the final frame holds only what the trained model does)."""
    values: dict = {}
    async for frame in call.hub.lesson(req):
        if not frame.final:
            await call.progress(frame.step, frame.total, "training")
        values.update(frame.values)
        values["step"], values["total_steps"] = frame.step, frame.total
    pictures, data = [], {}
    for key, value in values.items():
        found = _pictures(value)
        if found:
            pictures += [(key, p) for p in found]
        else:
            plain = _plain(value)
            if plain is not _SKIP:
                data[key] = plain
    text = f"{req.demo}: {values.get('step')} of {values.get('total_steps')} steps. Images, in order: " + ", ".join(
        k for k, _ in pictures
    )
    content = [types.TextContent(type="text", text=text)] + [_image_content(types, p) for _, p in pictures]
    return content, data


_SKIP = object()


def _pictures(value) -> list:
    """The pictures in a lesson's value: one image, a list of them, or (image, caption) pairs."""
    from PIL import Image

    if isinstance(value, Image.Image):
        return [value]
    if not isinstance(value, (list, tuple)) or not value:
        return []
    found = [v[0] if isinstance(v, (list, tuple)) and v and isinstance(v[0], Image.Image) else v for v in value]
    return found if all(isinstance(v, Image.Image) for v in found) else []


def _plain(value, depth: int = 0):
    """A lesson's value as JSON (numbers rounded, arrays as lists); _SKIP for what JSON cannot say."""
    import numpy as np

    if depth > 4:
        return _SKIP
    if isinstance(value, np.ndarray):
        if value.size > 20_000:
            return _SKIP
        value = value.tolist()
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return round(v, 6) if math.isfinite(v) else None
    if isinstance(value, (np.integer, int, bool, str)) or value is None:
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, dict):
        out = {str(k): _plain(v, depth + 1) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not _SKIP}
    if isinstance(value, (list, tuple)):
        out = [_plain(v, depth + 1) for v in value]
        return _SKIP if any(v is _SKIP for v in out) else out
    return _SKIP


# --- the server ---------------------------------------------------------------------------------------------
class Agents:
    """An ASGI app: the MCP endpoint (streamable HTTP, one session per client) and the result files."""

    def __init__(self, hub):
        from mcp import types
        from mcp.server.lowlevel import Server
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

        self.hub, self.types = hub, types
        self.tools = build_tools(hub)
        self.files = Files()
        server = Server("Lienzo", instructions=_INSTRUCTIONS)
        self.server = server

        @server.list_tools()
        async def list_tools():
            return [t.definition(types) for t in self.tools.values()]

        @server.call_tool(validate_input=False)  # checked here, answered in words
        async def call_tool(name: str, arguments: dict):
            return await self.call(name, arguments or {})

        self.manager = StreamableHTTPSessionManager(app=server, json_response=False, stateless=False)
        self._running: asyncio.Task | None = None
        self._ready = asyncio.Event()

    async def call(self, name: str, arguments: dict):
        types = self.types
        tool = self.tools.get(name)

        def failed(message: str):
            return types.CallToolResult(content=[types.TextContent(type="text", text=message)], isError=True)

        if tool is None:
            return failed(f"there is no tool {name[:60]!s}; the tools are: {', '.join(self.tools)}")
        ctx = self.server.request_context
        request = ctx.request
        token = ctx.meta.progressToken if ctx.meta is not None else None

        async def progress(done, total, message):
            if token is not None:
                await ctx.session.send_progress_notification(
                    token, float(done), float(total) if total else None, message, related_request_id=ctx.request_id
                )

        try:
            args = tool.arguments(arguments)
            call = Call(self.hub, origin(request), _base_url(request), self.files, progress)
            content, data = await tool.run(call, types, args)
        except ValueError as exc:  # a wrong argument (hub.errors.InvalidRequest is one too)
            return failed(str(exc))
        except LienzoError as exc:
            return failed(str(exc))
        except Exception:
            log.exception("MCP tool %s failed", name)
            return failed(f"{name} failed because of a fault on the server (it was logged); try again later")
        return types.CallToolResult(content=content, structuredContent=data, isError=False)

    async def _serve(self):
        async with self.manager.run():
            self._ready.set()
            await asyncio.Event().wait()  # until the server's loop ends

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        path = scope.get("path", "")
        if "/files/" in path:  # the path as the Mount hands it on, with or without PATH in front
            return await self._file(path.rsplit("/files/", 1)[1], scope, receive, send)
        if self._running is None:
            self._running = asyncio.ensure_future(self._serve())
        await self._ready.wait()
        await self.manager.handle_request(scope, receive, send)

    async def _file(self, name, scope, receive, send):
        from starlette.responses import FileResponse, PlainTextResponse

        path = self.files.get(name)
        if path is None or not path.is_file():
            response = PlainTextResponse("no such file (result links last as long as the server runs)", 404)
        else:
            response = FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
        await response(scope, receive, send)


_INSTRUCTIONS = (
    "Lienzo draws images from text (imagine), varies, upscales and mixes them, describes images, and teaches how "
    "generative models work (the explain_* tools train small models live). Results come as image content plus "
    "structured data with a job_id; pass job_id and a 1-based image index to vary, vary_strong, upscale or "
    "enhance_draft. Images you send are base64-encoded files."
)


def _base_url(request) -> str:
    """The address the client reached this server at (behind a proxy: the forwarded scheme and host)."""
    headers = request.headers
    scheme = headers.get("x-forwarded-proto", request.url.scheme).split(",")[0].strip()
    host = headers.get("x-forwarded-host", headers.get("host", request.url.netloc)).split(",")[0].strip()
    return f"{scheme}://{host}"


class _ClosedStreams(logging.Filter):
    """The SDK logs a client's normal hang-up of its notification stream as an error with a traceback (anyio's
    ClosedResourceError in the standalone SSE writer); that one record is dropped, every other error kept."""

    def filter(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        return not (exc is not None and type(exc).__name__ == "ClosedResourceError" and "SSE writer" in record.msg)


logging.getLogger("mcp.server.streamable_http").addFilter(_ClosedStreams())


def install(app, hub) -> Agents:
    """Serve the tools at PATH on a Starlette/FastAPI app (first, so that no catch-all route of Gradio's wins)."""
    from starlette.routing import Mount

    agents = Agents(hub)
    app.router.routes.insert(0, Mount(PATH, app=agents))
    return agents
