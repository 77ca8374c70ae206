"""Midjourney's editing actions through the Hub on the mini stand-in: Vary (Region), Zoom Out, Pan, Remix, and the
size every image-to-image action claims. Real store, scheduler, engine and diffusers pipelines."""

import io
import re

import numpy as np
import pytest
from PIL import Image

from hub import catalog, edits
from hub.errors import ImageError, InvalidRequest, JobNotFound, PromptError, in_language
from hub.pnginfo import read_parameters
from tests.conftest import with_hub
from hub.types import ImagineRequest, Origin, PanRequest, RegionRequest, UpscaleRequest, VaryRequest, ZoomRequest

ENGLISH = re.compile(r"\b(the|and|with|your|is|must|give|allowed|image|job|not|out of range|picture|mask)\b")
ALICE, BOB = Origin(user="alice"), Origin(user="bob")


def fast(prompt="a red circle above a blue square", **kw):
    return ImagineRequest(prompt, num_inference_steps=4, prior_num_inference_steps=4, origin=ALICE, **kw)


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_vary_and_upscale_give_the_size_they_claim_at_every_aspect(settings):
    async def body(hub):
        for aspect, size in (("16:9", (80, 48)), ("9:16", (48, 80))):
            job = await (await hub.imagine(fast(f"a red circle --ar {aspect}", num_images=1))).result()
            assert (job.width, job.height) == size
            subtle = await (await hub.vary(VaryRequest(job.job_id, 0, "subtle", num_images=2, origin=ALICE))).result()
            up = await (await hub.upscale(UpscaleRequest(job.job_id, 0, origin=ALICE))).result()
            for result, want in ((subtle, size), (up, (size[0] * 2, size[1] * 2))):
                assert (result.width, result.height) == want
                for path in result.images:
                    assert Image.open(path).size == want
                    assert read_parameters(Image.open(path)).get("Size") == f"{want[0]}x{want[1]}"

    with_hub(settings, body)


def test_region_zoom_pan_and_remix_end_to_end(settings):
    async def body(hub):
        job = await (await hub.imagine(fast("a red circle above a blue square --ar 16:9", num_images=2))).result()
        source = pixels(job.images[1])
        mask = Image.new("L", (160, 96), 0)  # any size: stretched over the picture
        mask.paste(255, (80, 0, 160, 48))
        region = await (
            await hub.vary_region(RegionRequest(job.job_id, 1, mask, "a green star", num_images=2, origin=ALICE))
        ).result()
        kept = np.asarray(mask.resize((80, 48), Image.NEAREST)) < 128
        assert region.kind == "region" and region.prompt == "a green star" and (region.width, region.height) == (80, 48)
        for path in region.images:
            assert (pixels(path)[kept] == source[kept]).all()  # the user's pixels, exactly
            assert (pixels(path)[~kept] != source[~kept]).any()
        record = hub.get_job(region.job_id, ALICE)
        assert (record.parent_id, record.parent_index) == (job.job_id, 1)

        # no brush (Discord): a named area, the halves and quarters and each object the mini's detector finds
        regions = hub.regions(job.job_id, 1, ALICE)
        assert [r.name for r in regions[:9]] == [
            "left",
            "right",
            "top",
            "bottom",
            "centre",
            "top-left",
            "top-right",
            "bottom-left",
            "bottom-right",
        ]
        objects = [r for r in regions if r.name.startswith("object-")]
        assert all(r.colour and r.shape and 0 <= r.box[0] < r.box[2] <= 1 for r in objects)
        area = objects[0].name if objects else "top-left"
        by_area = await (
            await hub.vary_region(RegionRequest(job.job_id, 1, area=area, prompt="a yellow star", origin=ALICE))
        ).result()
        assert hub.get_job(by_area.job_id, ALICE).request["area"] == area
        # on the mini, a region's prompt that names no background is drawn with the picture's (its crop shows little),
        # and its one object of no size large (it fills the region)
        from hub.mini.detect import background

        named = f"a large yellow star on a {background(Image.fromarray(source))} background"
        drawn = hub.get_job(by_area.job_id, ALICE).request
        assert drawn["parts"] == [[named, 1.0]]
        parent = hub.get_job(job.job_id, ALICE).request["guidance_scale"]
        assert drawn["guidance_scale"] == catalog.get("mini").defaults.region_guidance != parent
        assert read_parameters(Image.open(by_area.images[0])).prompt == named

        zoom = await (await hub.zoom_out(ZoomRequest(job.job_id, 1, 2.0, num_images=1, origin=ALICE))).result()
        assert (zoom.width, zoom.height) == (80, 48) and zoom.prompt == job.prompt
        small = np.asarray(Image.fromarray(source).resize((40, 24), Image.LANCZOS))
        assert (pixels(zoom.images[0])[13:35, 21:59] == small[1:-1, 1:-1]).all()  # its 1-px edge is repainted
        # on the mini, a border with no prompt of its own is the picture's background, started from the canvas's fill
        record = hub.get_job(zoom.job_id, ALICE).request
        colour = background(edits.zoom_canvas(Image.fromarray(source), 2.0)[0])
        assert record["parts"] == [[f"{'an' if colour[0] in 'aeiou' else 'a'} {colour} background", 1.0]]
        assert record["strength"] == catalog.get("mini").defaults.outpaint_strength < 1

        for direction, size, box in (("left", (128, 48), (48, 0)), ("down", (80, 80), (0, 0))):
            pan = await (await hub.pan(PanRequest(job.job_id, 1, direction, num_images=1, origin=ALICE))).result()
            assert (pan.width, pan.height) == size
            x, y = box
            assert (pixels(pan.images[0])[y : y + 48, x : x + 80] == source).all()

        remix = await (
            await hub.vary(VaryRequest(job.job_id, 0, "strong", num_images=1, prompt="a yellow star", origin=ALICE))
        ).result()
        assert remix.prompt == "a yellow star" and hub.get_job(remix.job_id, ALICE).request["remix"] is True

    with_hub(settings, body)


def test_bad_edits_are_refused_in_words_and_store_nothing(settings):
    def png(image):
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return buf.getvalue()

    async def body(hub):
        job = await (await hub.imagine(fast(num_images=1))).result()
        wide = await (await hub.imagine(fast(width=256, height=64, num_images=1))).result()
        before = len(hub.list_jobs())
        half = Image.new("L", (8, 8), 0)
        half.paste(255, (0, 0, 4, 8))
        half = png(half)  # a mask as a file's bytes, as front ends send it
        cases = [
            (hub.vary_region, RegionRequest(job.job_id, 0, Image.new("L", (64, 64), 0), origin=ALICE), "empty"),
            (hub.vary_region, RegionRequest(job.job_id, 0, Image.new("L", (64, 64), 255), origin=ALICE), "covers"),
            (hub.vary_region, RegionRequest(job.job_id, 0, b"not a picture", origin=ALICE), "image"),
            (hub.vary_region, RegionRequest(job.job_id, 0, half, "x" * 9000, origin=ALICE), "prompt"),
            (hub.vary_region, RegionRequest(job.job_id, 0, area="diagonal", origin=ALICE), "top-right"),
            (hub.vary_region, RegionRequest(job.job_id, 0, half, area="left", origin=ALICE), "one"),
            (hub.vary_region, RegionRequest(job.job_id, 0, origin=ALICE), "a mask"),
            (hub.zoom_out, ZoomRequest(job.job_id, 0, 3, origin=ALICE), "1.05 to 2"),
            (hub.zoom_out, ZoomRequest(job.job_id, 0, 1.0, origin=ALICE), "out of range"),
            (hub.zoom_out, ZoomRequest(job.job_id, 0, float("nan"), origin=ALICE), "out of range"),
            (hub.pan, PanRequest(job.job_id, 0, "diagonal", origin=ALICE), "left, right, up, down"),
            (hub.pan, PanRequest(wide.job_id, 0, "right", origin=ALICE), "past this model's 256 px"),
            (hub.zoom_out, ZoomRequest(job.job_id, 7, origin=ALICE), "out of range"),
        ]
        for method, request, needle in cases:
            with pytest.raises((InvalidRequest, ImageError, PromptError)) as info:
                await method(request)
            message = str(info.value)
            assert needle in message and "Traceback" not in message
            spanish = in_language(message, "es")  # what a Spanish-speaking user reads
            assert spanish != message and not ENGLISH.search(spanish), spanish
        # another user's job: not found for them (ids are not a way to reach other people's pictures)
        for method, request in (
            (hub.vary_region, RegionRequest(job.job_id, 0, Image.new("L", (64, 64), 0), origin=BOB)),
            (hub.zoom_out, ZoomRequest(job.job_id, 0, origin=BOB)),
            (hub.pan, PanRequest(job.job_id, 0, "left", origin=BOB)),
            (hub.vary, VaryRequest(job.job_id, 0, prompt="a cat", origin=BOB)),
        ):
            with pytest.raises(JobNotFound):
                await method(request)
        assert len(hub.list_jobs()) == before

    with_hub(settings, body)


def test_the_readmes_editing_strip(settings, docs_dir):
    """Before and after, as the README shows them: the picture, Vary (Region) on its first shape, Zoom Out 2x
    and Pan right, each from the same job (written to docs/ by `make docs`, to a temporary folder otherwise)."""
    from PIL import ImageDraw

    async def body(hub):
        job = await (
            await hub.imagine(
                ImagineRequest(
                    "a red circle above a blue square on a white background", seed=3, origin=ALICE, num_images=1
                )
            )
        ).result()
        region = await (
            await hub.vary_region(
                RegionRequest(
                    job.job_id, 0, area="object-1", prompt="a yellow star", num_images=1, seed=1, origin=ALICE
                )
            )
        ).result()
        zoom = await (await hub.zoom_out(ZoomRequest(job.job_id, 0, 2.0, num_images=1, seed=1, origin=ALICE))).result()
        pan = await (await hub.pan(PanRequest(job.job_id, 0, "right", num_images=1, seed=1, origin=ALICE))).result()
        return [
            (label, Image.open(r.images[0]).convert("RGB"))
            for label, r in (
                ("before", job),
                ("Vary (Region): the first shape, a yellow star", region),
                ("Zoom Out 2x", zoom),
                ("Pan right", pan),
            )
        ]

    shots = with_hub(settings, body)
    scale, gap, caption = 3, 12, 28
    width = sum(im.width * scale for _, im in shots) + gap * (len(shots) + 1)
    strip = Image.new("RGB", (width, 64 * scale + caption + 2 * gap), "white")
    draw, x = ImageDraw.Draw(strip), gap
    for label, im in shots:
        strip.paste(im.resize((im.width * scale, im.height * scale), Image.NEAREST), (x, gap))
        draw.text((x, gap + 64 * scale + 6), label.split(":")[0], fill="black")
        x += im.width * scale + gap
    strip.save(docs_dir / "edits.png")
    assert strip.width > 4 * 64 * scale
