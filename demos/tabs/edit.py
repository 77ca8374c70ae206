"""Generate's editing panel: Vary (Region) in an image editor, Zoom Out, Pan, Remix, Upscale (Creative), and each
image's seed and settings at a glance. Every action is also a named API endpoint (and an MCP tool)."""

from __future__ import annotations

import io
from functools import partial

import gradio as gr
import numpy as np
from PIL import Image

from demos.common import bind, gallery_updates, origin, refuse, say, start, word
from hub.errors import LienzoError
from hub.types import (
    AREAS,
    CREATIVE_STRENGTH,
    DIRECTIONS,
    ZOOM_RANGE,
    PanRequest,
    RegionRequest,
    UpscaleRequest,
    VaryRequest,
    ZoomRequest,
)

PAINTED = "painted"  # the area choice that means "what I painted in the editor"
AREA_CHOICES = (PAINTED, *AREAS)
ARROWS = {"left": "⬅️", "right": "➡️", "up": "⬆️", "down": "⬇️"}


def _index(index) -> int:
    return int(index or 1) - 1


def painted_mask(editor) -> Image.Image | None:
    """What the visitor painted in the ImageEditor as a mask (white = repaint): the layers' painted pixels, or where
    the composite differs from the background when the editor sends no layers. None when nothing is painted."""
    if not isinstance(editor, dict):
        return None
    background, layers = editor.get("background"), [x for x in editor.get("layers") or [] if x is not None]
    painted = None
    for layer in layers:
        alpha = np.asarray(layer.convert("RGBA"))[..., 3] > 0
        painted = alpha if painted is None else painted | alpha
    composite = editor.get("composite")
    if painted is None and background is not None and composite is not None:
        a, b = np.asarray(background.convert("RGB"), int), np.asarray(composite.convert("RGB"), int)
        if a.shape == b.shape:
            painted = np.abs(a - b).sum(-1) > 24
    if painted is None or not painted.any():
        return None
    return Image.fromarray((painted * 255).astype(np.uint8), "L")


async def vary_region(hub, job_id, index, mask, area, prompt, request: gr.Request, progress=gr.Progress()):
    """Vary (Region): repaint part of image `index` (1-4) of job `job_id` and keep the rest pixel for pixel.

    Args:
        job_id: the job whose image to edit
        index: which of its images (1-4)
        mask: a black and white picture of any size, stretched over the image: white is repainted (leave empty
            to use `area`)
        area: instead of a mask, a named area: left, right, top, bottom, centre, top-left, top-right, bottom-left,
            bottom-right, or object-1, object-2 (the mini's detected shapes); "painted" means use the mask
        prompt: what to draw there (empty: the job's own prompt)
    """
    named = area not in (None, "", PAINTED)
    if mask is None and not named:
        raise gr.Error(say("paint_first"))
    req = RegionRequest(
        job_id,
        _index(index),
        mask=None if named else mask,
        area=area if named else None,
        prompt=prompt or None,
        preview=True,
        origin=origin(request),
    )
    async for update in gallery_updates(await start(hub.vary_region(req)), progress):
        yield update


async def vary_painted(hub, job_id, index, editor, area, prompt, request: gr.Request, progress=gr.Progress()):
    """The editor's button: the painted layers as the mask."""
    mask = painted_mask(editor) if area in (None, "", PAINTED) else None
    async for update in vary_region(hub, job_id, index, mask, area, prompt, request, progress):
        yield update


async def zoom_out(hub, job_id, index, factor, prompt, request: gr.Request, progress=gr.Progress()):
    """Zoom Out: image `index` (1-4) of job `job_id` shrunk by `factor` in the middle of a canvas of its own size,
    the border drawn anew.

    Args:
        job_id: the job whose image to zoom out
        index: which of its images (1-4)
        factor: how far to zoom out, 1.05 to 2 (1.5 and 2 are the usual ones)
        prompt: what the wider picture shows (empty: the job's own prompt)
    """
    req = ZoomRequest(job_id, _index(index), float(factor), prompt=prompt or None, preview=True, origin=origin(request))
    async for update in gallery_updates(await start(hub.zoom_out(req)), progress):
        yield update


async def pan(hub, job_id, index, direction, prompt, request: gr.Request, progress=gr.Progress()):
    """Pan: image `index` (1-4) of job `job_id` with the canvas extended by half a side toward `direction`, the
    new strip drawn to continue it.

    Args:
        job_id: the job whose image to extend
        index: which of its images (1-4)
        direction: left, right, up or down
        prompt: what the extended picture shows (empty: the job's own prompt)
    """
    req = PanRequest(job_id, _index(index), direction, prompt=prompt or None, preview=True, origin=origin(request))
    async for update in gallery_updates(await start(hub.pan(req)), progress):
        yield update


async def remix(hub, job_id, index, prompt, strength, request: gr.Request, progress=gr.Progress()):
    """Remix: a variation of image `index` (1-4) of job `job_id` steered by a new prompt.

    Args:
        job_id: the job whose image to vary
        index: which of its images (1-4)
        prompt: the new prompt (the picture and these words are mixed)
        strength: subtle (keep the composition) or strong (keep only the idea)
    """
    if not (prompt or "").strip():
        raise refuse("the prompt is empty; write what to draw")
    req = VaryRequest(job_id, _index(index), strength or "strong", prompt=prompt, preview=True, origin=origin(request))
    async for update in gallery_updates(await start(hub.vary(req)), progress):
        yield update


async def upscale_creative(hub, job_id, index, request: gr.Request, progress=gr.Progress()):
    """Upscale (Creative): image `index` (1-4) of job `job_id` at twice the size, redrawing more detail than the
    subtle upscale."""
    req = UpscaleRequest(job_id, _index(index), strength=CREATIVE_STRENGTH, preview=True, origin=origin(request))
    async for update in gallery_updates(await start(hub.upscale(req)), progress):
        yield update


def image_settings(hub, job_id, index, request: gr.Request):
    """The seed and settings of image `index` (1-4) of job `job_id`, as stored in its PNG."""
    if not (job_id or "").strip():
        return ""
    try:
        record = hub.get_job(job_id, origin(request))
        i = _index(index)
        if not 0 <= i < len(record.images):
            return ""
        info = hub.png_info(record.images[i].read_bytes())
    except LienzoError as exc:
        raise refuse(str(exc)) from None
    return say(
        "image_settings",
        n=i + 1,
        seed=info.get("Seed", "?"),
        steps=info.get("Steps", "?"),
        cfg=info.get("CFG scale", "?"),
        sampler=info.get("Sampler", "?"),
        size=info.get("Size", "?"),
        kind=word(info.get("Kind", "")),
    )


def open_editor(hub, job_id, index, request: gr.Request):
    """The chosen image as the editor's background, nothing painted yet."""
    try:
        record = hub.get_job(job_id, origin(request))
        with Image.open(io.BytesIO(record.images[_index(index)].read_bytes())) as im:
            picture = im.convert("RGB")
    except (LienzoError, IndexError, OSError):
        return gr.skip()
    return {"background": picture, "layers": [], "composite": picture}


def on_select(hub, job_id, evt: gr.SelectData, request: gr.Request):
    """A click on a picture in the gallery picks it for the actions below; the grid (the first item when there is
    one) picks nothing. Each picture's caption starts with its number ("2 · seed 7 · 64×64")."""
    caption = (evt.value or {}).get("caption") if isinstance(evt.value, dict) else None
    number = (caption or "").split("·")[0].strip()
    if not number.isdigit():
        return gr.skip(), gr.skip(), gr.skip()
    index = int(number)
    return index, image_settings(hub, job_id, index, request), open_editor(hub, job_id, index, request)


def from_link(hub, request: gr.Request):
    """A page opened from a link such as the bot's `/?job=<id>&image=<n>`: that job and image picked, the editing
    panel open (the job's picture appears if the visitor may open it: their own, or a shared one)."""
    query = getattr(request, "query_params", None) or {}
    job, image = str(query.get("job", "")), str(query.get("image", "1"))
    if not (job.isascii() and job.isalnum() and 0 < len(job) <= 40 and image in ("1", "2", "3", "4")):
        return gr.skip(), gr.skip(), gr.skip()
    return job, int(image), gr.Accordion(open=True)


def _value(value):
    """What a fixed button sets before its action runs (a zoom factor, a pan direction, a remix strength)."""
    return value


def build(hub, t, parts: dict) -> dict:
    """The panel, under Generate's gallery. `parts`: the gallery, the job id, the index slider, the outputs and
    the event settings Generate's actions use."""
    job_id, index, outputs, job = parts["job_id"], parts["index"], parts["outputs"], parts["job"]
    settings = gr.Markdown(label="image_settings", elem_id="image-settings")
    with gr.Accordion(t("edit_title"), open=False, elem_id="edit") as panel:
        with gr.Row():
            with gr.Column(scale=3):
                editor = gr.ImageEditor(
                    type="pil",
                    label=t("editor"),
                    sources=(),
                    transforms=(),
                    layers=False,
                    brush=gr.Brush(colors=["#ffffff"], color_mode="fixed", default_size=8),
                    elem_id="editor",
                )
            with gr.Column(scale=2):
                prompt = gr.Textbox(label=t("remix_prompt"), placeholder=t("remix_hint"), elem_id="remix-prompt")
                area = gr.Dropdown(
                    [(t(f"area_{a.replace('-', '_')}"), a) for a in AREA_CHOICES], value=PAINTED, label=t("area")
                )
                region = gr.Button(t("vary_region"), variant="primary", elem_id="vary-region")
                with gr.Row():
                    remix_subtle = gr.Button(t("remix_subtle"), elem_id="remix-subtle")
                    remix_strong = gr.Button(t("remix_strong"), elem_id="remix-strong")
                with gr.Row():
                    zoom15 = gr.Button(t("zoom_15"), elem_id="zoom-15")
                    zoom2 = gr.Button(t("zoom_2"), elem_id="zoom-2")
                with gr.Row():
                    factor = gr.Slider(*ZOOM_RANGE, value=1.5, step=0.05, label=t("zoom_factor"))
                    zoom = gr.Button(t("zoom_custom"), elem_id="zoom-custom")
                with gr.Row():
                    arrows = {d: gr.Button(ARROWS[d], elem_id=f"pan-{d}", min_width=40) for d in DIRECTIONS}
                creative = gr.Button(t("upscale_creative"), elem_id="upscale-creative")
                explain = gr.Button(t("explain_image"), elem_id="explain-image")
        # what the API takes instead of the editor and the arrows (hidden: the panel sets them)
        mask = gr.Image(type="pil", image_mode="L", visible=False, label="mask")
        direction = gr.Radio(list(DIRECTIONS), value="left", visible=False, label="direction")
        strength = gr.Radio(["subtle", "strong"], value="strong", visible=False, label="strength")
        api = {name: gr.Button(visible=False) for name in ("region", "pan", "remix")}

    private = {**job, "api_visibility": "private"}
    parts["gallery"].select(
        bind(hub, on_select), [job_id], [index, settings, editor], api_visibility="private", queue=False
    )
    index.release(bind(hub, open_editor), [job_id, index], [editor], api_visibility="private", queue=False)
    index.change(bind(hub, image_settings), [job_id, index], [settings], api_name="image_settings", queue=False)
    job_id.change(bind(hub, open_editor), [job_id, index], [editor], api_visibility="private", queue=False)
    # the named endpoints first: a private event registered before would take the handler's name
    region_inputs = [job_id, index, mask, area, prompt]
    api["region"].click(bind(hub, vary_region), region_inputs, outputs, api_name="vary_region", **job)
    zoom.click(bind(hub, zoom_out), [job_id, index, factor, prompt], outputs, api_name="zoom_out", **job)
    api["pan"].click(bind(hub, pan), [job_id, index, direction, prompt], outputs, api_name="pan", **job)
    api["remix"].click(bind(hub, remix), [job_id, index, prompt, strength], outputs, api_name="remix", **job)
    creative.click(bind(hub, upscale_creative), [job_id, index], outputs, api_name="upscale_creative", **job)
    # the panel's own buttons: the editor's painting, the fixed zooms, the arrows, the two remixes
    region.click(bind(hub, vary_painted), [job_id, index, editor, area, prompt], outputs, **private)
    for button, value in ((zoom15, 1.5), (zoom2, 2.0)):
        button.click(partial(_value, value), None, factor, queue=False, api_visibility="private").then(
            bind(hub, zoom_out), [job_id, index, factor, prompt], outputs, **private
        )
    for d, button in arrows.items():
        button.click(partial(_value, d), None, direction, queue=False, api_visibility="private").then(
            bind(hub, pan), [job_id, index, direction, prompt], outputs, **private
        )
    for button, value in ((remix_subtle, "subtle"), (remix_strong, "strong")):
        button.click(partial(_value, value), None, strength, queue=False, api_visibility="private").then(
            bind(hub, remix), [job_id, index, prompt, strength], outputs, **private
        )
    return {"edit": panel, "explain": explain}  # Explain this image: the app wires it to Learn's walkthrough
