"""scikit-learn's bundled 8x8 digits (no download): scaled to [0, 1], split once with a fixed seed."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image


@lru_cache(maxsize=1)
def load(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test); x is (N, 64) in [0, 1]."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = d.data.astype(np.float32) / 16.0, d.target
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(0.8 * len(x))
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


def sheet(images: np.ndarray, cols: int = 10, scale: int = 6) -> Image.Image:
    """A grid picture of (N, 64) digit images."""
    n = len(images)
    rows = (n + cols - 1) // cols
    canvas = np.ones((rows * 9, cols * 9))
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        canvas[r * 9 : r * 9 + 8, c * 9 : c * 9 + 8] = 1 - np.clip(im.reshape(8, 8), 0, 1)
    img = Image.fromarray((canvas * 255).astype(np.uint8))
    return img.resize((img.width * scale, img.height * scale), Image.NEAREST)


def classifier():
    """A logistic-regression digit classifier trained on the real training digits."""
    from sklearn.linear_model import LogisticRegression

    x, y, _, _ = load()
    return LogisticRegression(max_iter=2000).fit(x, y)
