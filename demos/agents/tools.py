"""The tools an agent sees, each named as the web endpoint that does the same thing, on the same Hub."""

from __future__ import annotations

from typing import Any

from demos.agents import learn as learn_tools
from demos.agents.schema import REQUIRED, BadArgument, Call, Param, Tool, decode_image, image_content
from hub.service import learn_catalogue
from hub.types import (
    AREAS,
    ASPECTS,
    CREATIVE_STRENGTH,
    DIRECTIONS,
    ZOOM_RANGE,
    SCHEDULERS,
    ChatMessage,
    DescribeRequest,
    EnhanceRequest,
    ExpandRequest,
    ImagineRequest,
    MixItem,
    MixRequest,
    PanRequest,
    RegionRequest,
    TutorRequest,
    UpscaleRequest,
    VaryRequest,
    ZoomRequest,
)

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
    content += [image_content(types, p) for p in result.images]
    return content, data


# --- the tools ----------------------------------------------------------------------------------------------
TEXT = {"type": "string"}
STRENGTHS = ("subtle", "strong")


def _fields(**properties) -> dict:
    """The JSON schema of an object with these properties, all required."""
    return {"type": "object", "properties": properties, "required": list(properties)}


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

    image_action(
        "upscale_creative",
        "One image of a job at twice its width and height, redrawing more detail than upscale (Midjourney's "
        "Upscale (Creative)).",
        lambda hub, j, i, who: hub.upscale(UpscaleRequest(j, i, strength=CREATIVE_STRENGTH, origin=who)),
        "Upscale creatively",
    )
    edit_prompt = Param(
        "prompt", "string", "what to draw (flags such as --no work); empty: the job's own prompt", "", max_length=2000
    )

    @tool(
        "vary_region",
        "Repaint part of one image of a job and keep the rest pixel for pixel (Midjourney's Vary (Region)). Mark "
        "the part with a mask (a black and white image, white = repaint, any size: it is stretched over the "
        "image) or a named area.",
        *_ids("edit"),
        Param("mask", "string", "the mask image, base64-encoded (leave out to use area)", None, max_length=30_000_000),
        Param(
            "area",
            "string",
            "instead of a mask: a half, a quarter or the centre; object-1/object-2 are the shapes the bundled mini's "
            "detector finds",
            None,
            choices=AREAS,
        ),
        edit_prompt,
        output=IMAGE_RESULT,
        title="Vary a region",
    )
    async def vary_region(call, types, a):
        mask = decode_image("mask", a["mask"]) if a["mask"] is not None else None
        req = RegionRequest(
            a["job_id"], a["index"] - 1, mask=mask, area=a["area"], prompt=a["prompt"] or None, origin=call.who
        )
        return _image_answer(call, types, await _follow(call, await call.hub.vary_region(req)))

    @tool(
        "zoom_out",
        "Zoom out of one image of a job: the image shrunk into the middle of a canvas of its own size and the "
        "border drawn to continue it (Midjourney's Zoom Out).",
        *_ids("zoom out of"),
        Param("factor", "number", "how far to zoom out (1.5 and 2 are the usual ones)", 2.0, *ZOOM_RANGE),
        edit_prompt,
        output=IMAGE_RESULT,
        title="Zoom out",
    )
    async def zoom_out(call, types, a):
        req = ZoomRequest(a["job_id"], a["index"] - 1, a["factor"], prompt=a["prompt"] or None, origin=call.who)
        return _image_answer(call, types, await _follow(call, await call.hub.zoom_out(req)))

    @tool(
        "pan",
        "Extend one image of a job by half its side in one direction and draw the new strip (Midjourney's Pan).",
        *_ids("extend"),
        Param("direction", "string", "which way to extend the canvas", REQUIRED, choices=DIRECTIONS),
        edit_prompt,
        output=IMAGE_RESULT,
        title="Pan",
    )
    async def pan(call, types, a):
        req = PanRequest(a["job_id"], a["index"] - 1, a["direction"], prompt=a["prompt"] or None, origin=call.who)
        return _image_answer(call, types, await _follow(call, await call.hub.pan(req)))

    @tool(
        "remix",
        "A variation of one image of a job steered by a new prompt (Midjourney's Remix): the picture and the new "
        "words are mixed.",
        *_ids("remix"),
        Param("prompt", "string", "the new prompt", max_length=2000),
        Param("strength", "string", "subtle keeps the composition, strong only the idea", "strong", choices=STRENGTHS),
        output=IMAGE_RESULT,
        title="Remix",
    )
    async def remix(call, types, a):
        req = VaryRequest(a["job_id"], a["index"] - 1, a["strength"], prompt=a["prompt"], origin=call.who)
        return _image_answer(call, types, await _follow(call, await call.hub.vary(req)))

    @tool(
        "image_settings",
        "The seed and settings stored in one image of a job (its PNG's AUTOMATIC1111-style parameters).",
        *_ids("read"),
        output={"type": "object", "additionalProperties": {"type": "string"}},
        title="Image settings",
        read_only=True,
    )
    async def image_settings(call, types, a):
        record = call.hub.get_job(a["job_id"], call.who)
        if not 0 <= a["index"] - 1 < len(record.images):
            raise BadArgument(f"index {a['index']} is out of range: job {record.id} has images 1-{len(record.images)}")
        info = call.hub.png_info(record.images[a["index"] - 1].read_bytes())
        text = "\n".join(f"{k}: {v}" for k, v in info.items() if v not in (None, ""))
        return [types.TextContent(type="text", text=text)], {k: str(v) for k, v in info.items()}

    @tool(
        "expand_prompt",
        "Enhance a short prompt into a fuller scene description with the text model.",
        Param("prompt", "string", "a short idea, e.g. 'red circle'", max_length=1000),
        output=_fields(text=TEXT, added=TEXT),
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
            raise BadArgument(f"items: give 1 to 5 ingredients, not {len(a['items'])}")
        for i, item in enumerate(a["items"], 1):
            if not isinstance(item, dict) or set(item) - {"text", "image", "weight"}:
                raise BadArgument(f"items[{i}] must be an object with text or image, and weight")
            weight = item.get("weight", 1)
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not -1 <= weight <= 2:
                raise BadArgument(f"items[{i}].weight must be a number from -1 to 2")
            text, image = item.get("text"), item.get("image")
            if (text is None) == (image is None):
                raise BadArgument(f"items[{i}] needs a text or an image (one of them)")
            if image is not None and not isinstance(image, str):
                raise BadArgument(f"items[{i}].image must be base64 text")
            if text is not None and not isinstance(text, str):
                raise BadArgument(f"items[{i}].text must be text")
            picture = decode_image(f"items[{i}].image", image) if image is not None else None
            items.append(MixItem(text=text, image=picture, weight=float(weight)))
        job = await call.hub.mix(MixRequest(items=tuple(items), seed=a["seed"], origin=call.who))
        return _image_answer(call, types, await _follow(call, job))

    @tool(
        "describe",
        "Four prompts the model can draw that fit an image, best first, each with its CLIP similarity (-1 to 1).",
        Param("image", "string", "the image file (PNG, JPEG or WebP), base64-encoded", max_length=30_000_000),
        output=_fields(prompts={"type": "array", "items": _fields(prompt=TEXT, similarity={"type": "number"})}),
        title="Describe an image",
        read_only=True,
    )
    async def describe(call, types, a):
        result = await call.hub.describe(DescribeRequest(decode_image("image", a["image"]), origin=call.who))
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
        output=_fields(answer=TEXT),
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
                raise BadArgument(f'history[{i}] must be {{"role": "user" or "assistant", "content": text}}')
            turns.append(ChatMessage(m["role"], m["content"]))
        answer = ""
        async for answer in call.hub.ask_tutor(TutorRequest(a["message"], tuple(turns), origin=call.who)):
            pass
        return [types.TextContent(type="text", text=answer)], {"answer": answer}

    @tool(
        "history",
        "Your jobs (this MCP session's), newest first: id, kind, status, model, prompt, seeds, when, shared.",
        Param("limit", "integer", "how many jobs", 20, low=1, high=100),
        output=_fields(jobs={"type": "array", "items": {"type": "object"}}),
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
        output=_fields(settings={"type": "object"}),
        title="A job's settings",
        read_only=True,
    )
    async def reuse(call, types, a):
        job = call.hub.get_job(a["job_id"], call.who)
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
        output=_fields(job_id=TEXT, shared={"type": "boolean"}),
        title="Share a job",
    )
    async def share(call, types, a):
        job = call.hub.share(a["job_id"], a["shared"], call.who)
        text = f"job {job.id} is {'shared' if job.shared else 'private'}"
        return [types.TextContent(type="text", text=text)], {"job_id": job.id, "shared": bool(job.shared)}

    @tool(
        "png_info",
        "The generation settings stored in a PNG made by Lienzo, AUTOMATIC1111, ComfyUI or InvokeAI.",
        Param("image", "string", "the PNG file, base64-encoded", max_length=30_000_000),
        output=_fields(parameters={"type": "object"}),
        title="Read a PNG's settings",
        read_only=True,
    )
    async def png_info(call, types, a):
        info = call.hub.png_info(decode_image("image", a["image"]))
        text = "\n".join(f"{k}: {v}" for k, v in info.items())
        return [types.TextContent(type="text", text=text)], {"parameters": info}

    learn_tools.register(tool, learn)
    return {t.name: t for t in tools}
