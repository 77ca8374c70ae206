"""`lienzo eval-mini`: GenEval-style scores of the mini model on held-out prompts, English and Spanish apart.

Prompts are sampled from the world with a seed the training never used; every image goes through
the real Hub path (prior, decoder, store) and is scored by `detect`, which never looks at the model.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
from dataclasses import replace
from pathlib import Path

import numpy as np

from hub.mini import detect, world
from hub.mini.scoring import score

HELD_OUT_SEED = 10_007


def prompts(n_single: int, n_two: int, seed: int = HELD_OUT_SEED) -> list[world.Scene]:
    rng = random.Random(seed)
    singles = []
    while len(singles) < n_single:
        s = world.sample_scene(rng, two=False)
        singles.append(replace(s, show_position=True) if len(singles) % 2 == 0 else s)
    return singles + [world.sample_scene(rng, two=True) for _ in range(n_two)]


ASPECTS = ("1:1", "16:9", "9:16")


def _percent(table: dict[str, dict[str, list[float]]]) -> dict:
    return {lang: {k: round(100 * statistics.mean(v), 1) for k, v in sorted(t.items())} for lang, t in table.items()}


async def _evaluate(
    hub, n_single: int, n_two: int, images: int, progress, draft: bool = False, aspects=("1:1",), held=True
) -> dict:
    from hub.images import load_image
    from hub.types import ImagineRequest, MixItem, MixRequest, Origin, VaryRequest

    scenes = prompts(n_single, n_two)
    two = [s for s in scenes if s.relation]
    runs = [(a, i, s, lang, s.caption(lang)) for a in aspects for i, s in enumerate(scenes) for lang in ("en", "es")]
    if held:  # the held-out phrasings at 1:1: each two-object prompt in one of them, taken in turn
        runs += [("held", i, s, lang, world.held_out(s, lang, i)) for i, s in enumerate(two) for lang in ("en", "es")]
    tables: dict[str, dict[str, dict[str, list[float]]]] = {}
    first_done: dict[int, str] = {}
    for k, (aspect, i, scene, lang, text) in enumerate(runs):
        req = ImagineRequest(
            text,
            model="mini",
            num_images=images,
            seed=1000 + i,
            parse_flags=False,
            draft=draft,
            aspect=None if aspect == "held" else aspect,
            origin=Origin(user="eval", surface="cli"),
        )
        result = await (await hub.imagine(req)).result()
        if aspect == aspects[0]:
            first_done.setdefault(i, result.job_id)
        table = tables.setdefault(aspect, {"en": {}, "es": {}})
        for path in result.images:
            for key, value in score(scene, load_image(path, hub.settings)).items():
                table[lang].setdefault(key, []).append(value)
        progress(k + 1, len(runs))
    scores = _percent(tables[aspects[0]])

    # seed determinism: the same request twice gives the same pixels
    again = [
        await (await hub.imagine(ImagineRequest("a red circle", model="mini", seed=5, num_images=2))).result()
        for _ in range(2)
    ]
    same = all(
        np.array_equal(np.asarray(load_image(a, hub.settings)), np.asarray(load_image(b, hub.settings)))
        for a, b in zip(again[0].images, again[1].images)
    )

    # mix: 0.5/0.5 of two prompts lands between them in CLIP image-embedding space and shows traits of both
    engine = hub.worker.engines["mini"]
    a = await (await hub.imagine(ImagineRequest("a red circle", model="mini", seed=11))).result()
    b = await (await hub.imagine(ImagineRequest("a blue square", model="mini", seed=11))).result()
    m = await (
        await hub.mix(
            MixRequest(
                items=(MixItem(text="a red circle", weight=0.5), MixItem(text="a blue square", weight=0.5)),
                model="mini",
                seed=11,
            )
        )
    ).result()

    def embed(result):
        import torch

        with torch.no_grad():
            e = engine.image_embeds([load_image(p, hub.settings) for p in result.images])
        return torch.nn.functional.normalize(e.float(), dim=-1)

    ea, eb, em = embed(a).mean(0), embed(b).mean(0), embed(m)
    ab = float(ea @ eb)
    between = [float(e @ ea) > ab and float(e @ eb) > ab for e in em]
    traits = []
    for p in m.images:
        _, found = detect.detect(load_image(p, hub.settings))
        got = {f.colour for f in found} | {f.shape for f in found}
        traits.append(bool(got & {"red", "circle"}) and bool(got & {"blue", "square"}))

    # variation: strong variations keep the source's main colour and shape
    kept = []
    for i, scene in enumerate(scenes[: min(8, n_single)]):
        source_id = first_done[i]
        var = await (
            await hub.vary(VaryRequest(source_id, 0, "strong", seed=77, origin=Origin(user="eval", surface="cli")))
        ).result()
        _, src = detect.detect(load_image(hub.get_job(source_id).images[0], hub.settings))
        for p in var.images:
            _, found = detect.detect(load_image(p, hub.settings))
            kept.append(
                bool(src) and bool(found) and (found[0].colour, found[0].shape) == (src[0].colour, src[0].shape)
            )
    settings = None
    if draft:  # what a draft ran with (the distilled decoder's steps, or the solver's), read off its record
        r = hub.get_job(first_done[0]).request
        settings = {
            k: r[k] for k in ("prior_num_inference_steps", "num_inference_steps", "scheduler", "guidance_scale")
        }
        settings["prior_scheduler"] = r.get("prior_scheduler")  # None: the prior's own UnCLIPScheduler
        settings["timesteps"] = r.get("timesteps")  # None: the decoder's scheduler's own spacing
        prior_by = f" ({settings['prior_scheduler']})" if settings["prior_scheduler"] else ""
        from hub import catalog

        fast = hub.loader.fast_vae_path(catalog.get("mini")) is not None
        settings["decode"] = "the tiny latent decoder (vae-fast/)" if fast else "the MoVQ"
        at = f", at {', '.join(map(str, r['timesteps']))}" if r.get("timesteps") else ""
        settings["what"] = (
            f"{r['prior_num_inference_steps']} prior steps{prior_by}, {r['num_inference_steps']} decoder steps "
            f"({r['scheduler']}{at}), guidance {r['guidance_scale']:g}, decoded by {settings['decode']}"
        )
    return {
        "prompts": {"single": n_single, "two_object": n_two, "images_each": images, "languages": ["en", "es"]},
        "aspects": list(aspects),
        "by_aspect": {a: _percent(tables[a]) for a in aspects},
        "held_out_phrasings": {
            "phrasings": [f"{lang}: {structure} / {word}" for lang, structure, word in world.HELD_OUT],
            "prompts": len(two),
            "accuracy_percent": _percent(tables["held"]) if held else None,
        },
        "draft": draft,
        "draft_settings": settings,
        "accuracy_percent": scores,
        "seed_determinism": same,
        "mix": {
            "between_percent": round(100 * np.mean(between), 1),
            "traits_of_both_percent": round(100 * np.mean(traits), 1),
            "cos_red_circle_blue_square": round(ab, 3),
        },
        "variation_keeps_colour_and_shape_percent": round(100 * np.mean(kept), 1),
    }


def evaluate(
    settings,
    n_single: int = 24,
    n_two: int = 24,
    images: int = 4,
    progress=lambda done, total: None,
    draft=False,
    aspects=ASPECTS,
    held=True,
) -> dict:
    """The held-out prompts scored at each of `aspects` (the first is the headline table), and with `held` the
    held-out phrasings; `draft`: drawn with the model's --draft settings (mix and variation stay full)."""
    from hub.service import Hub

    async def main():
        hub = Hub.create(settings)
        try:
            return await _evaluate(hub, n_single, n_two, images, progress, draft, tuple(aspects), held)
        finally:
            await hub.close()

    report = asyncio.run(main())
    report["model"] = scored_model(settings)
    return report


def scored_model(settings) -> dict:
    """Which model a report scored: its folder, its recipe and when its training finished (from training.json),
    so that a card can tell a from-scratch run of the same recipe from another model."""
    from hub.catalog import BUNDLED_ROOT

    root = Path(settings.mini_weights or BUNDLED_ROOT).resolve()
    here = Path.cwd().resolve()
    where = str(root.relative_to(here) if root.is_relative_to(here) else root)
    try:
        meta = json.loads((root / "training.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"weights": where}
    return {
        "weights": where,
        "recipe": {"config": meta.get("config"), "arch": meta.get("arch")},
        "finished": meta.get("finished"),
    }


def table(report: dict, reference: dict | None = None) -> str:
    """The accuracies per language; with a `reference` report, each figure's difference and the largest gap: the
    most a figure fell short of the reference (a gain is no gap; for `hidden`, fewer is better)."""
    keys = [k for k in ("colour", "shape", "count", "named", "position", "relation", "background", "hidden")]
    rows = ["| language | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    gaps = []
    for lang, s in report["accuracy_percent"].items():
        ref = (reference or {}).get("accuracy_percent", {}).get(lang, {})
        cells = []
        for k in keys:
            if k not in s or (reference and k not in ref):
                cells.append("–")
            elif reference:
                gaps.append((max(0.0, (s[k] - ref[k]) * (1 if k == "hidden" else -1)), k, lang))
                cells.append(f"{s[k]:.1f} ({s[k] - ref[k]:+.1f})")
            else:
                cells.append(f"{s[k]:.1f}")
        rows.append(f"| {lang} | " + " | ".join(cells) + " |")
    if gaps:
        gap, key, lang = max(gaps)
        rows += ["", f"largest gap: {gap:.1f} points ({key}, {lang})"]  # a paragraph of its own, not a table row
    return "\n".join(rows)


def aspect_table(report: dict) -> str:
    """Each aspect's figures side by side (and the held-out phrasings'), a row per aspect and language."""
    keys = ("colour", "shape", "named", "count", "position", "relation", "background", "hidden")
    rows = ["| prompts | language | " + " | ".join(keys) + " |", "|---" * (len(keys) + 2) + "|"]
    sets = [(f"{a}", t) for a, t in report.get("by_aspect", {}).items()]
    held = (report.get("held_out_phrasings") or {}).get("accuracy_percent")
    if held:
        sets.append(("held-out phrasings, 1:1", held))
    for name, t in sets:
        for lang, s in t.items():
            cells = [f"{s[k]:.1f}" if k in s else "–" for k in keys]
            rows.append(f"| {name} | {lang} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


GRID_CAPTIONS = (
    "a red circle",
    "a yellow star on a blue background",
    "a small green triangle on the left",
    "a blue square above a red circle",
    "una estrella morada a la derecha de un círculo amarillo",
    "un triángulo negro debajo de un cuadrado naranja sobre fondo blanco",
)


def sample_grid(out: Path, settings, aspect: str = "1:1") -> Path:
    """A picture of what the model draws at `aspect`: held-out prompts, 4 seeds each."""
    from PIL import Image, ImageDraw

    from hub.service import Hub
    from hub.types import ImagineRequest

    captions = GRID_CAPTIONS

    async def main():
        hub = Hub.create(settings)
        try:
            return [
                await (
                    await hub.imagine(ImagineRequest(c, model="mini", seed=3, parse_flags=False, aspect=aspect))
                ).result()
                for c in captions
            ]
        finally:
            await hub.close()

    import textwrap

    from PIL import ImageFont

    results = asyncio.run(main())
    first = Image.open(results[0].images[0])
    cw, ch = first.width * 3 // 2, first.height * 3 // 2  # 1.5x, pixels kept sharp
    label, gap = 280, 4
    try:  # Debian's DejaVu has every accent; Pillow's own default font lacks í and á
        font = ImageFont.truetype("DejaVuSans.ttf", 13)
    except OSError:
        font = ImageFont.load_default(size=13)
    row = max(ch, 60) + gap
    sheet = Image.new("RGB", (label + 4 * (cw + gap), len(results) * row), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (caption, res) in enumerate(zip(captions, results)):
        lines = textwrap.wrap(caption, 32)
        for k, line in enumerate(lines):
            draw.text((6, r * row + row // 2 - 9 * len(lines) + 18 * k), line, fill="black", font=font)
        for c, p in enumerate(res.images):
            sheet.paste(Image.open(p).resize((cw, ch), Image.NEAREST), (label + c * (cw + gap), r * row))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
