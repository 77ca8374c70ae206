"""The Learn tools: each trains its small teaching model to the end (seconds to a minute) and returns its final
pictures as images and its figures as numbers; the walkthrough shows the mini's pipeline stage by stage."""

from __future__ import annotations

import math

from demos.agents.schema import BadArgument, Call, Param, decode_image, image_content
from hub.service import example_picture
from hub.types import LessonRequest, LimitsRequest, WalkthroughRequest


def register(tool, learn) -> None:
    """Add the Learn tools through `tool` (demos.agents.tools.build_tools's), their settings from the core's
    catalogue `learn`."""

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
                "start": "fresh, or continue from where this session's last GAN stopped (from scratch if none)",
                "train": "both nets, or only the discriminator or only the generator (the other stays frozen)",
                "run": "steps to train this time (0: to the preset's end, or a preset's length more)",
            },
            True,
        ),
        "explain_vae": (
            "vae",
            "Train a VAE on 8x8 digits; returns reconstructions, loss curves, the error against PCA and its latent "
            "space.",
            {
                "latent": "latent dimensions",
                "beta": "weight of the KL term (β-VAE)",
                "steps": "training steps (the β sweep trains each of its three βs about a quarter as long)",
            },
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
                "top_k": "sample only from the k likeliest characters (0: all)",
                "top_p": "sample only from the likeliest characters making up this share of the probability (1: all)",
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
        image = decode_image("image", a["image"]) if a["image"] else example_picture()
        params = {k: a[k] for k in ("step", "schedule")}
        return await _run_lesson(call, types, LessonRequest("noise", params, image=image, origin=call.who))

    walk_params = (
        Param(
            "prompt", "string", "what to draw (English or Spanish)", "a red circle above a blue square", max_length=1000
        ),
        Param("seed", "integer", "the seed", 0, low=0, high=2**32 - 1),
        Param(
            "job_id",
            "string",
            "Explain this image: a job of this session's (or a shared one) drawn from words; its picture is walked "
            "through with the job's own settings and seed, and prompt and seed are ignored",
            None,
            max_length=64,
        ),
        Param("index", "integer", "with job_id: which picture of the job, 1 to 4", 1, low=1, high=4),
    )

    def walk_request(a, call, guidance=None, prompt=None, job=True) -> WalkthroughRequest:
        return WalkthroughRequest(
            a["prompt"] if prompt is None else prompt,
            seed=a["seed"],
            job_id=a["job_id"] if job else None,
            index=a["index"] - 1,
            guidance_scale=guidance,
            origin=call.who,
        )

    @tool(
        "explain_walkthrough",
        "The bundled mini Kandinsky, stage by stage, for one prompt or one picture of a job (Explain this image): "
        "its tokens, text and image embeddings, the prior's steps, the decoder's latents at several steps and the "
        "final image (the same image imagine draws with that seed, or the job's own picture).",
        *walk_params,
        title="Learn: the pipeline step by step",
        read_only=True,
    )
    async def explain_walkthrough(call, types, a):
        r = await call.hub.walkthrough(walk_request(a, call))
        data = {
            "prompt": r.prompt,
            "seed": r.seed,
            "guidance_scale": r.guidance_scale,
            "tokens": list(r.tokens),
            "token_ids": list(r.token_ids),
            "token_limit": r.token_limit,
            "cut": r.cut,
            "text_embedding": [round(float(v), 5) for v in r.text_embedding],
            "image_embedding": [round(float(v), 5) for v in r.image_embedding],
            "text_image_similarity": round(float(r.text_image_similarity), 4),
            "zero_image_similarity": round(float(r.zero_image_similarity), 4),
            "prior_steps": [[s, round(c, 4)] for s, c in r.prior_steps],
            "steps": [s for s, _ in r.steps],
        }
        text = (
            f"{len(r.tokens)} tokens: {' '.join(r.tokens)}. Cosine(text embedding, prior's image embedding) = "
            f"{r.text_image_similarity:.3f} (baseline with a black image's embedding: {r.zero_image_similarity:.3f}). "
            f"Images: the decoder's latents at steps {', '.join(str(s) for s, _ in r.steps)}, then the final image."
        )
        content = [types.TextContent(type="text", text=text)]
        content += [image_content(types, im) for _, im in r.steps] + [image_content(types, r.image)]
        return content, data

    @tool(
        "explain_compare",
        "The same seed side by side: the prompt (or a job's picture) at two guidance values, and another prompt at "
        "the first. Returns the three final images, their settings and each text-to-image-embedding cosine.",
        *walk_params,
        Param("guidance", "number", "the first guidance scale (the mini draws at 2)", 2.0, low=1.0, high=20.0),
        Param("other_guidance", "number", "the second guidance scale", 1.0, low=1.0, high=20.0),
        Param(
            "other_prompt", "string", "another prompt, same seed", "a blue square above a red circle", max_length=1000
        ),
        title="Learn: guidance and prompts compared",
        read_only=True,
    )
    async def explain_compare(call, types, a):
        first = await call.hub.walkthrough(walk_request(a, call, a["guidance"]))
        second = await call.hub.walkthrough(walk_request(a, call, a["other_guidance"]))
        other = await call.hub.walkthrough(
            walk_request({**a, "seed": first.seed}, call, a["guidance"], a["other_prompt"], job=False)
        )
        shown = [first, second, other]
        data = {
            "seed": first.seed,
            "images": [
                {
                    "prompt": r.prompt,
                    "guidance_scale": r.guidance_scale,
                    "text_image_similarity": round(r.text_image_similarity, 4),
                }
                for r in shown
            ],
        }
        text = "; ".join(f"{r.prompt!r} at guidance {r.guidance_scale:g}" for r in shown) + f", seed {first.seed}."
        return [types.TextContent(type="text", text=text)] + [image_content(types, r.image) for r in shown], data

    @tool(
        "explain_limits",
        "A limit of text-to-image, live: one prompt drawn by the bundled mini with 8 seeds, each picture checked by "
        "a detector that never looks at the model. Returns the 8 pictures and, per picture, whether the prompt held.",
        Param(
            "case",
            "string",
            "relation (does 'above' hold?), binding (does each colour stay on its shape?) or background (does the "
            "background take a named colour and hide its object?)",
            "relation",
            choices=("relation", "binding", "background"),
        ),
        Param("lang", "string", "the prompt's language", "en", choices=("en", "es")),
        Param("seed", "integer", "the first of the 8 seeds", 0, low=0, high=2**32 - 1),
        title="Learn: the limits of text-to-image",
        read_only=False,
    )
    async def explain_limits(call, types, a):
        r = await call.hub.limits(LimitsRequest(a["case"], a["lang"], a["seed"], origin=call.who))
        data = {
            "case": r.case,
            "prompt": r.prompt,
            "job_ids": list(r.job_ids),
            "seeds": list(r.seeds),
            "verdicts": [dict(v) for v in r.verdicts],
            "held": dict(r.held),
        }
        held = ", ".join(f"{check} {n}/{len(r.images)}" for check, n in r.held.items())
        text = f"{r.prompt!r}, seeds {r.seeds[0]}-{r.seeds[-1]}: {held}. Images in seed order."
        content = [types.TextContent(type="text", text=text)]
        from PIL import Image

        for path in r.images:
            with Image.open(path) as picture:
                content.append(image_content(types, picture.convert("RGB")))
        return content, data


def _lesson(demo: str):
    async def run(call, types, a):
        a = {k: v for k, v in a.items() if v is not None}  # left out: the lesson's default (the GAN's: its preset's)
        pts = a.pop("points", None)
        if pts is not None:
            if not 3 <= len(pts) <= 5000 or not all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) for v in p) for p in pts
            ):
                raise BadArgument("points must be 3 to 5000 [x, y] pairs of numbers")
            pts = tuple((float(x), float(y)) for x, y in pts)
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
    content = [types.TextContent(type="text", text=text)] + [image_content(types, p) for _, p in pictures]
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
