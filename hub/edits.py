"""Midjourney's editing actions as inpainting: the canvas and the mask each one gives the engine.

Vary (Region) repaints what the user marked; Zoom Out shrinks the picture into the middle of a canvas of its own
size and draws the border; Pan extends the canvas on one side and draws the new strip. In every mask white means
"repaint" and black "keep" (diffusers' convention for Kandinsky 2.2 and Stable Diffusion); the engine puts the kept
pixels back exactly after decoding (hub/images.py's paste_kept). Plain PIL: no torch here.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from hub.errors import InvalidRequest, shown
from hub.types import DIRECTIONS, ZOOM_RANGE

# Vary (Region) without a brush (Discord has no canvas): halves, quarters and the centre, and each object the mini's
# detector finds; fractions of the picture (left, top, right, bottom)
AREAS: dict[str, tuple[float, float, float, float]] = {
    "left": (0, 0, 0.5, 1),
    "right": (0.5, 0, 1, 1),
    "top": (0, 0, 1, 0.5),
    "bottom": (0, 0.5, 1, 1),
    "centre": (0.25, 0.25, 0.75, 0.75),
    "top-left": (0, 0, 0.5, 0.5),
    "top-right": (0.5, 0, 1, 0.5),
    "bottom-left": (0, 0.5, 0.5, 1),
    "bottom-right": (0.5, 0.5, 1, 1),
}
MAX_REGION = 0.97  # a mask over more than this share of the picture leaves nothing to keep: Vary (Strong) does that
MAX_OBJECT = 0.6  # a "shape" whose grown box covers more of the picture than this is not offered as an area


def region_mask(mask: Image.Image, size: tuple[int, int]) -> tuple[Image.Image, float]:
    """A user's mask (any size, stretched over the picture) as black/white at `size`, and the share repainted.

    A mask with transparency is a brush layer: what is painted (alpha > 0) is repainted. Otherwise white (light
    pixels) is repainted, black kept."""
    if mask.mode in ("RGBA", "LA", "PA") or (mask.mode == "P" and "transparency" in mask.info):
        alpha = np.asarray(mask.convert("RGBA"))[..., 3]
        painted = alpha > 0
        if painted.all():  # an opaque picture sent as RGBA: read it by its light pixels
            painted = np.asarray(mask.convert("L")) >= 128
    else:
        painted = np.asarray(mask.convert("L")) >= 128
    out = Image.fromarray((painted * 255).astype(np.uint8), "L").resize(size, Image.NEAREST)
    share = float((np.asarray(out) >= 128).mean())
    if share == 0:
        raise InvalidRequest("the mask is empty: paint over the part of the picture to repaint (white = repaint)")
    if share > MAX_REGION:
        raise InvalidRequest(
            f"the mask covers {share:.0%} of the picture, which leaves nothing to keep: mark less "
            f"(up to {MAX_REGION:.0%}), or use Vary (Strong) to redraw it all"
        )
    return out, share


def zoom_factor(factor) -> float:
    low, high = ZOOM_RANGE
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not low <= factor <= high:
        raise InvalidRequest(
            f"zoom factor {shown(factor, 20)} is out of range: {low:g} to {high:g} (1.5 and 2 are the usual ones)"
        )
    return float(factor)


def zoom_canvas(image: Image.Image, factor: float) -> tuple[Image.Image, Image.Image, tuple[int, int, int, int]]:
    """(canvas, mask, box): the picture shrunk by `factor` into the middle of a canvas of its own size; the mask
    repaints everything around it. The border starts as the picture's edge colour (only the seam's context)."""
    size = image.size
    width, height = size
    w, h = max(1, round(width / factor)), max(1, round(height / factor))
    left, top = (width - w) // 2, (height - h) // 2
    box = (left, top, left + w, top + h)
    canvas = Image.new("RGB", size, _edge_colour(image))
    canvas.paste(image.convert("RGB").resize((w, h), Image.LANCZOS), box[:2])
    mask = Image.new("L", size, 255)
    mask.paste(0, _inset(box, INSET))
    return canvas, mask, box


def pan_size(size: tuple[int, int], direction: str, multiple: int, max_side: int) -> tuple[int, int]:
    """The canvas a pan gives: half a side more toward `direction` (rounded to the model's multiple)."""
    if direction not in DIRECTIONS:
        raise InvalidRequest(f"pan direction {shown(direction, 20)} is not valid: {', '.join(DIRECTIONS)}")
    width, height = size
    horizontal = direction in ("left", "right")
    side = width if horizontal else height
    grown = side + -(-side // 2 // multiple) * multiple
    if grown > max_side:
        raise InvalidRequest(
            f"the picture is {width}x{height}; panning {direction} would make it "
            f"{grown if horizontal else width}x{height if horizontal else grown}, past this model's "
            f"{max_side} px a side: pan the other way, or zoom out instead"
        )
    return (grown, height) if horizontal else (width, grown)


def pan_canvas(image: Image.Image, direction: str, size: tuple[int, int]) -> tuple[Image.Image, Image.Image, tuple]:
    """(canvas, mask, box): the picture at one end of a canvas of `size`, the new strip toward `direction`."""
    width, height = size
    w, h = image.size
    left = width - w if direction == "left" else 0
    top = height - h if direction == "up" else 0
    box = (left, top, left + w, top + h)
    canvas = Image.new("RGB", size, _edge_colour(image))
    canvas.paste(image.convert("RGB"), box[:2])
    mask = Image.new("L", size, 255)
    mask.paste(0, box)
    return canvas, mask, box


INSET = 1  # px of the shrunk picture's edge repainted too: a decoder's edge artifacts would frame it otherwise


def _inset(box, by: int):
    left, top, right, bottom = box
    return left + by, top + by, right - by, bottom - by


def _edge_colour(image: Image.Image) -> tuple[int, int, int]:
    arr = np.asarray(image.convert("RGB"))
    frame = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
    return tuple(int(v) for v in np.median(frame, axis=0))


def objects(image: Image.Image) -> list[tuple[str, str, str, tuple[float, float, float, float]]]:
    """The shapes the mini's detector finds in a picture of its world, largest first: (area name "object-N",
    colour, shape, box as fractions grown by a third of the object's size so the repaint covers its edge)."""
    from hub.mini.detect import detect_boxes

    out = []
    for found, (x0, y0, x1, y1) in detect_boxes(image)[:4]:
        w, h = image.size
        gx, gy = (x1 - x0) / 3, (y1 - y0) / 3
        box = (max(0, x0 - gx) / w, max(0, y0 - gy) / h, min(w, x1 + gx) / w, min(h, y1 + gy) / h)
        if (box[2] - box[0]) * (box[3] - box[1]) > MAX_OBJECT:  # not a shape on a background: nothing to offer
            continue
        out.append((f"object-{len(out) + 1}", found.colour, found.shape, box))
    return out


def area_mask(name: str, size: tuple[int, int], found: list) -> Image.Image:
    """The mask of a named area: one of AREAS or an object from `objects` ("object-1" ...)."""
    boxes = {**AREAS, **{n: box for n, _, _, box in found}}
    if not isinstance(name, str) or name not in boxes:
        raise InvalidRequest(f"area {shown(name, 30)} is not valid: choose one of {', '.join(boxes)}")
    width, height = size
    left, top, right, bottom = boxes[name]
    mask = Image.new("L", size, 0)
    mask.paste(255, (round(left * width), round(top * height), round(right * width), round(bottom * height)))
    return mask
