"""An independent detector for the shapes world: segment by colour, classify shape by geometry.

It never looks at the model: pixels are snapped to the world's palette, the background is the
border's colour, connected regions of one colour are objects, and a shape is told by its extent
(area / its smallest bounding box, upright or turned) and solidity (area / convex hull). Checked on rendered ground
truth, turned squares included, in tests.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from PIL import Image

from hub.mini.world import COLOURS

NAMES = list(COLOURS)
PALETTE = np.array([COLOURS[n] for n in NAMES], dtype=float)
MIN_AREA = 12  # pixels; smaller regions are noise
MAX_DISTANCE = 90.0  # a pixel further than this from every palette colour belongs to nothing
# A solid region filling more of its smallest bounding box than this, upright or turned, is a square. Until session 27
# it was 0.9 of the upright box alone, which named circles the mini's squares with softened corners (0.85-0.9) and
# squares turned a few degrees; on its pictures circles fill at most 0.83 (docs/BENCHMARKS.md, session 27).
SQUARE_EXTENT = 0.85


@dataclass(frozen=True)
class Found:
    colour: str
    shape: str
    area: int
    cx: float  # centroid, fraction of the image
    cy: float


def _nearest(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.linalg.norm(image[:, :, None, :].astype(float) - PALETTE[None, None], axis=-1)
    return d.argmin(-1), d.min(-1)


def _hull(points: np.ndarray) -> np.ndarray:
    """The convex hull's corners, counter-clockwise (Andrew's monotone chain)."""
    pts = sorted(set(map(tuple, points.tolist())))
    if len(pts) < 3:
        return np.array(pts, float).reshape(-1, 2)

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1], float)


def _polygon_area(corners: np.ndarray) -> float:
    if len(corners) < 3:
        return 0.0
    xs, ys = corners[:, 0], corners[:, 1]
    return 0.5 * abs(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1)))


def _smallest_box(corners: np.ndarray) -> float:
    """The area of the smallest rectangle, at any angle, around a convex polygon: one of its sides lies along one
    of the polygon's edges (rotating calipers)."""
    best = np.inf
    for a, b in zip(corners, np.roll(corners, -1, axis=0)):
        edge = b - a
        length = np.hypot(*edge)
        if length == 0:
            continue
        along, across = edge / length, np.array([-edge[1], edge[0]]) / length
        best = min(best, np.ptp(corners @ along) * np.ptp(corners @ across))
    return float(best)


def classify(mask: np.ndarray) -> str:
    """A star is far from solid; of the solid shapes a square fills its smallest bounding box, upright or turned
    (SQUARE_EXTENT), a circle about pi/4 of it and a triangle about half."""
    ys, xs = np.nonzero(mask)
    area = len(xs)
    box = (xs.max() - xs.min() + 1) * (ys.max() - ys.min() + 1)
    corners = _hull(np.concatenate([np.stack([xs + dx, ys + dy], 1) for dx in (0, 1) for dy in (0, 1)]))
    solidity = area / max(_polygon_area(corners), 1.0)
    extent = area / box
    if solidity < 0.8:
        return "star"
    if max(extent, area / max(_smallest_box(corners), 1.0)) > SQUARE_EXTENT:
        return "square"
    if extent > 0.66:
        return "circle"
    return "triangle"


def background(image: Image.Image) -> str:
    """The most common palette colour, ignoring a 2-pixel frame (a decoder's edge artifacts live there).

    Objects never cover more than about a third of a scene, so the majority is the background."""
    labels, _ = _nearest(np.asarray(image.convert("RGB")))
    inner = labels[2:-2, 2:-2].ravel()
    return NAMES[np.bincount(inner, minlength=len(NAMES)).argmax()]


def detect(image: Image.Image) -> tuple[str, list[Found]]:
    """(background colour, objects largest first)."""
    background_name, found = _detect(image)
    return background_name, [f for f, _ in found]


def detect_boxes(image: Image.Image) -> list[tuple[Found, tuple[int, int, int, int]]]:
    """The objects, largest first, each with its bounding box in pixels (left, top, right, bottom; right and
    bottom exclusive)."""
    return _detect(image)[1]


def _detect(image: Image.Image) -> tuple[str, list[tuple[Found, tuple[int, int, int, int]]]]:
    arr = np.asarray(image.convert("RGB"))
    h, w = arr.shape[:2]
    labels, dist = _nearest(arr)
    bg = NAMES.index(background(image))
    fg = (labels != bg) & (dist < MAX_DISTANCE)
    fg[:2, :], fg[-2:, :], fg[:, :2], fg[:, -2:] = False, False, False, False  # the frame is not an object
    seen = np.zeros_like(fg)
    found = []
    for y0, x0 in zip(*np.nonzero(fg)):
        if seen[y0, x0]:
            continue
        colour = labels[y0, x0]
        queue, pixels = deque([(y0, x0)]), []
        seen[y0, x0] = True
        while queue:
            y, x = queue.popleft()
            pixels.append((y, x))
            for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= ny < h and 0 <= nx < w and fg[ny, nx] and not seen[ny, nx] and labels[ny, nx] == colour:
                    seen[ny, nx] = True
                    queue.append((ny, nx))
        if len(pixels) < MIN_AREA:
            continue
        mask = np.zeros((h, w), bool)
        ys, xs = zip(*pixels)
        mask[list(ys), list(xs)] = True
        item = Found(NAMES[colour], classify(mask), len(pixels), (np.mean(xs) + 0.5) / w, (np.mean(ys) + 0.5) / h)
        found.append((item, (min(xs), min(ys), max(xs) + 1, max(ys) + 1)))
    return NAMES[bg], sorted(found, key=lambda f: -f[0].area)
