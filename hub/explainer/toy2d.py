"""2-D toy data and the pictures of it: a ring of 8 Gaussians, two moons, points a learner draws."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

RING_RADIUS, RING_SIGMA = 2.0, 0.1
EXTENT = 3.0  # plots show [-3, 3] x [-3, 3]


def ring_centres(n: int = 8) -> np.ndarray:
    angles = 2 * math.pi * np.arange(n) / n
    return RING_RADIUS * np.stack([np.cos(angles), np.sin(angles)], 1)


def sample(kind: str, n: int, rng: np.random.Generator, points: np.ndarray | None = None) -> np.ndarray:
    """(n, 2) samples from `kind`: ring, moons, or custom (jittered copies of the learner's points)."""
    if kind == "ring":
        centres = ring_centres()
        return centres[rng.integers(0, len(centres), n)] + RING_SIGMA * rng.standard_normal((n, 2))
    if kind == "moons":
        t = rng.uniform(0, math.pi, n)
        upper = rng.random(n) < 0.5
        x = np.where(upper, np.cos(t), 1 - np.cos(t)) - 0.5
        y = np.where(upper, np.sin(t), 0.5 - np.sin(t)) - 0.25
        return 1.5 * np.stack([x, y], 1) + 0.05 * rng.standard_normal((n, 2))
    if kind == "custom":
        if points is None or len(points) < 3:
            raise ValueError("draw or upload at least 3 points")
        return points[rng.integers(0, len(points), n)] + 0.05 * rng.standard_normal((n, 2))
    raise ValueError(f"unknown data {kind!r}: ring, moons or custom")


def coverage(samples: np.ndarray, centres: np.ndarray | None = None, sigma: float = RING_SIGMA) -> np.ndarray:
    """Per mode: the share of samples within 3 sigma of that mode's centre, relative to a fair share (1.0 = fair)."""
    centres = ring_centres() if centres is None else centres
    d = np.linalg.norm(samples[:, None, :] - centres[None], axis=-1)  # (N, modes)
    near = d.min(1) < 3 * sigma
    owner = d.argmin(1)
    counts = np.bincount(owner[near], minlength=len(centres))
    return counts / (len(samples) / len(centres))


def precision(samples: np.ndarray, centres: np.ndarray | None = None, sigma: float = RING_SIGMA) -> float:
    """The share of samples within 3 sigma of some mode: how many of the model's points look real."""
    centres = ring_centres() if centres is None else centres
    d = np.linalg.norm(samples[:, None, :] - centres[None], axis=-1)
    return float((d.min(1) < 3 * sigma).mean())


def modes_covered(samples: np.ndarray, threshold: float = 0.2) -> int:
    """A mode counts when it gets at least 20% of its fair share of samples within 3 sigma."""
    return int((coverage(samples) >= threshold).sum())


def plot(
    real: np.ndarray, fake: np.ndarray, heat: np.ndarray | None = None, size: int = 320, title: str = ""
) -> Image.Image:
    """Real points (grey) and model points (orange) over an optional heatmap of values in [0, 1]."""
    if heat is not None:
        h = np.clip(heat, 0, 1)
        rgb = np.stack([40 + 180 * h, 60 + 120 * h, 200 - 150 * h], -1).astype(np.uint8)  # blue (0) -> yellow (1)
        img = Image.fromarray(rgb).resize((size, size), Image.BILINEAR)
    else:
        img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    to_px = lambda p: ((p[:, 0] + EXTENT) / (2 * EXTENT) * size, (EXTENT - p[:, 1]) / (2 * EXTENT) * size)  # noqa: E731
    for pts, colour in ((real, (90, 90, 90)), (fake, (255, 110, 0))):
        xs, ys = to_px(pts)
        for x, y in zip(xs, ys):
            draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=colour)
    if heat is not None:  # the colour key, in the corner the data never reaches: D(x) from 0 (fake) to 1 (real)
        ramp = np.linspace(1, 0, 80)[:, None].repeat(10, 1)
        strip = np.stack([40 + 180 * ramp, 60 + 120 * ramp, 200 - 150 * ramp], -1).astype(np.uint8)
        img.paste(Image.fromarray(strip), (size - 16, 18))
        draw.rectangle([size - 17, 17, size - 6, 98], outline=(0, 0, 0))
        draw.text((size - 40, 4), "D(x)", fill=(0, 0, 0))
        draw.text((size - 26, 16), "1", fill=(0, 0, 0))
        draw.text((size - 26, 88), "0", fill=(0, 0, 0))
    if title:
        draw.text((6, 4), title, fill=(0, 0, 0))
    return img


def grid_points(n: int = 64) -> np.ndarray:
    """(n*n, 2) points covering the plot, row by row from the top."""
    xs = np.linspace(-EXTENT, EXTENT, n)
    gx, gy = np.meshgrid(xs, xs[::-1])
    return np.stack([gx.ravel(), gy.ravel()], 1)


def points_from_drawing(pixels: np.ndarray, max_points: int = 500) -> np.ndarray:
    """The points a learner drew on a square pad, in plot coordinates ([-EXTENT, EXTENT], y up).

    `pixels` is the pad as an (H, W, 4) RGBA or (H, W, 3) RGB array: a stroke is any pixel that is opaque
    and not white. At most `max_points` of them are kept, evenly spread over the strokes.
    """
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(f"expected an RGB or RGBA picture, got an array of shape {pixels.shape}")
    rgb = pixels[..., :3].astype(np.float32)
    ink = rgb.min(-1) < 200
    if pixels.shape[2] == 4:
        ink &= pixels[..., 3] > 128
    ys, xs = np.nonzero(ink)
    if len(xs) == 0:
        return np.zeros((0, 2))
    h, w = ink.shape
    pts = np.stack([(xs + 0.5) / w * 2 * EXTENT - EXTENT, EXTENT - (ys + 0.5) / h * 2 * EXTENT], 1)
    if len(pts) > max_points:
        pts = pts[np.linspace(0, len(pts) - 1, max_points).round().astype(int)]
    return pts
