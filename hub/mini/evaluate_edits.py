"""`lienzo eval-mini --edits`: how well the mini's inpainting decoder edits, on held-out prompts, en and es apart.

As a user would: the mini draws a held-out scene (`imagine`), then
- Vary (Region) repaints an area with a prompt naming one new shape: half the time the area of a shape the detector
  found (turn it into another), half an empty quarter (add one). Scored by the detector inside the area: a shape of
  the prompt's colour (colour), of its shape too (shape), never the area painted over edge to edge (filled, counted
  apart); and every pixel outside the mask unchanged (kept).
- Zoom Out (2x and 1.5x in turn) on a scene whose prompt names its background: the new border is mostly that
  background (background), and the detector finds no shape centred in the border (no_seam_object).
Every image goes through the real Hub path and is scored by `detect`, which never looks at the model.
"""

from __future__ import annotations

import asyncio
import random
import statistics
from dataclasses import replace

import numpy as np

from hub.mini import detect, world

EDIT_SEED = 20_011  # a seed neither training nor eval-mini's prompts use
QUARTERS = ("top-left", "top-right", "bottom-left", "bottom-right")


def _inside(f: detect.Found, box) -> bool:
    left, top, right, bottom = box
    return left <= f.cx <= right and top <= f.cy <= bottom


FILLED = 0.9  # a found shape spanning this share of the region's width and height is the region painted over


def region_score(image, original, mask, box, colour: str, shape: str) -> dict[str, float]:
    """box: the region as fractions (left, top, right, bottom). A shape of the prompt's colour counts only when it is
    an object in the region, not the region painted edge to edge in that colour (`filled`: the share of pictures
    whose region is one block of any colour, which the detector would otherwise read as a square or a circle)."""
    w, h = image.size
    span = ((box[2] - box[0]) * w, (box[3] - box[1]) * h)
    inside, filled = [], False
    for f, (x0, y0, x1, y1) in detect.detect_boxes(image):
        if not _inside(f, box):
            continue
        if x1 - x0 >= FILLED * span[0] and y1 - y0 >= FILLED * span[1]:
            filled = True
            continue
        inside.append(f)
    match = next((f for f in inside if f.colour == colour), None)
    keep = np.asarray(mask) < 128
    kept = np.array_equal(np.asarray(image.convert("RGB"))[keep], np.asarray(original.convert("RGB"))[keep])
    shaped = match is not None and match.shape == shape
    return {"colour": float(match is not None), "shape": float(shaped), "kept": float(kept), "filled": float(filled)}


def zoom_score(image, background: str, box_px) -> dict[str, float]:
    """box_px: the kept centre (left, top, right, bottom) in pixels."""
    arr = np.asarray(image.convert("RGB"))
    h, w = arr.shape[:2]
    band = np.ones((h, w), bool)
    left, top, right, bottom = box_px
    band[top:bottom, left:right] = False
    labels, _ = detect._nearest(arr)
    majority = detect.NAMES[np.bincount(labels[band].ravel(), minlength=len(detect.NAMES)).argmax()]
    _, found = detect.detect(image)
    spurious = [f for f in found if band[min(h - 1, int(f.cy * h)), min(w - 1, int(f.cx * w))]]
    return {"background": float(majority == background), "no_seam_object": float(not spurious)}


def _target(rng: random.Random, avoid: set[str]) -> world.Obj:
    colour = rng.choice([c for c in world.COLOURS if c not in avoid])
    return world.Obj(rng.choice(world.SHAPES), colour, rng.choice(list(world.SIZES)), 0.5, 0.5)


def _words(o: world.Obj, lang: str) -> str:
    return world.Scene("white", (o,)).caption(lang)


async def _evaluate_edits(hub, n: int, images: int, progress) -> dict:
    from hub import edits
    from hub.images import load_image
    from hub.types import ImagineRequest, Origin, RegionRequest, ZoomRequest

    rng = random.Random(EDIT_SEED)
    who = Origin(user="eval-edits", surface="cli")
    tables: dict[str, dict[str, dict[str, list[float]]]] = {"region": {}, "zoom": {}}
    total, done = 4 * n, 0  # two languages, two jobs each
    for lang in ("en", "es"):
        for i in range(n):
            scene = replace(world.sample_scene(rng), show_background=True)
            source = await (
                await hub.imagine(
                    ImagineRequest(scene.caption(lang), model="mini", num_images=1, seed=EDIT_SEED + i, origin=who)
                )
            ).result()
            original = load_image(source.images[0], hub.settings)
            # Vary (Region): a found shape's area, or an empty quarter
            found = edits.objects(original)
            area = found[0][0] if found and i % 2 == 0 else QUARTERS[i % 4]
            regions = {r.name: r for r in hub.regions(source.job_id, 0, who)}
            target = _target(rng, {scene.background})
            region = await (
                await hub.vary_region(
                    RegionRequest(
                        source.job_id, 0, area=area, prompt=_words(target, lang), num_images=images, origin=who
                    )
                )
            ).result()
            mask = edits.area_mask(area, original.size, found)
            for path in region.images:
                got = load_image(path, hub.settings)
                for k, v in region_score(got, original, mask, regions[area].box, target.colour, target.shape).items():
                    tables["region"].setdefault(lang, {}).setdefault(k, []).append(v)
            done += 1
            progress(done, total)
            # Zoom Out: the border continues the named background
            factor = 2.0 if i % 2 == 0 else 1.5
            zoom = await (
                await hub.zoom_out(ZoomRequest(source.job_id, 0, factor, num_images=images, origin=who))
            ).result()
            _, _, box = edits.zoom_canvas(original, factor)
            for path in zoom.images:
                for k, v in zoom_score(load_image(path, hub.settings), scene.background, box).items():
                    tables["zoom"].setdefault(lang, {}).setdefault(k, []).append(v)
            done += 1
            progress(done, total)
    percent = {
        kind: {lang: {k: round(100 * statistics.mean(v), 1) for k, v in sorted(t.items())} for lang, t in table.items()}
        for kind, table in tables.items()
    }
    return {
        "prompts": {"per_language": n, "images_each": images, "languages": ["en", "es"], "seed": EDIT_SEED},
        "region_percent": percent["region"],
        "zoom_percent": percent["zoom"],
        "how": __doc__.split("\n\n", 1)[1].strip(),
    }


def evaluate_edits(settings, n: int = 96, images: int = 4, progress=lambda done, total: None) -> dict:
    from hub.mini.evaluate import scored_model
    from hub.service import Hub

    async def main():
        hub = Hub.create(settings)
        try:
            return await _evaluate_edits(hub, n, images, progress)
        finally:
            await hub.close()

    report = asyncio.run(main())
    report["model"] = scored_model(settings)
    return report


TARGETS = {  # issue 18's bars: (table, figure) -> at least this percent, in both languages
    ("region", "colour"): 90,
    ("region", "shape"): 80,
    ("region", "kept"): 100,
    ("zoom", "background"): 90,
    ("zoom", "no_seam_object"): 95,
}
START, END = "<!-- edits -->", "<!-- /edits -->"


def card_section(report: dict) -> str:
    """The model card's editing table, with each figure's bar and whether both languages reach it."""
    from hub import catalog

    n, images = report["prompts"]["per_language"], report["prompts"]["images_each"]
    d = catalog.get("mini").defaults
    rows = []
    for (table, figure), bar in TARGETS.items():
        values = report[f"{table}_percent"]
        en, es = values["en"][figure], values["es"][figure]
        rows.append(f"| {table} | {figure} | {en:.1f} | {es:.1f} | ≥ {bar} | {'yes' if min(en, es) >= bar else 'no'} |")
    return "\n".join(
        [
            START,
            "## Editing (the inpainting decoder, `decoder-inpaint/`)",
            "",
            f"`lienzo eval-mini --edits {n} --images {images}`: {n} held-out prompts a language, {images} images each; "
            "the mini draws a scene, then Vary (Region) repaints a shape's area or an empty quarter with a prompt "
            "naming one new shape, and Zoom Out (2x and 1.5x in turn) widens a scene whose prompt names its "
            "background. Scored by the detector (percent):",
            "",
            "| action | figure | en | es | bar | reached |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            "*kept*: every pixel outside the mask unchanged; *no_seam_object*: no shape centred in the new border. "
            "A region is repainted from a crop around it at the full size, its one object of no named size asked "
            f"for large and the picture's background named, at guidance {d.region_guidance:g} (the catalog's "
            "`region_guidance`); a Zoom Out's or Pan's border with no prompt of its own is drawn after the picture's "
            f"background alone, from the canvas's fill noised to {d.outpaint_strength:g} (`outpaint_strength`). "
            "Known limits: a border given words of its "
            "own may draw their shapes there, sometimes cut at the seam; a repainted square often comes out a little "
            "turned or with softened corners (the detector measures a square against its smallest box at any angle, "
            "so it still reads as one).",
            END,
        ]
    )


def write_card_section(model_dir, report: dict) -> None:
    """Put (or replace) the editing section in the model card (README.md) of `model_dir`."""
    from pathlib import Path

    card = Path(model_dir) / "README.md"
    text = card.read_text(encoding="utf-8") if card.exists() else ""
    section = card_section(report)
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    card.write_text(text, encoding="utf-8")
