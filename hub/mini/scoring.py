"""One picture of the mini's world scored against the scene its prompt describes, by the project's detector
(`detect`, which never looks at the model): what `eval-mini` averages and the Learn tab's live limits show.
Light to import (numpy and the detector, no torch and no Hub)."""

from __future__ import annotations

import numpy as np

from hub.mini import detect, world

MARGIN = 0.05  # fraction of the image a relation or position must clear


def _position_ok(position: str, f: detect.Found) -> bool:
    return {
        "left": f.cx < 0.5 - MARGIN,
        "right": f.cx > 0.5 + MARGIN,
        "top": f.cy < 0.5 - MARGIN,
        "bottom": f.cy > 0.5 + MARGIN,
        "centre": abs(f.cx - 0.5) < 0.15 and abs(f.cy - 0.5) < 0.15,
    }[position]


def _relation_ok(relation: str, a: detect.Found, b: detect.Found) -> bool:
    return {
        "above": a.cy < b.cy - MARGIN,
        "below": a.cy > b.cy + MARGIN,
        "left of": a.cx < b.cx - MARGIN,
        "right of": a.cx > b.cx + MARGIN,
    }[relation]


def score(scene: world.Scene, image) -> dict[str, float]:
    """Per-image scores in [0, 1]; a key is absent when the prompt does not ask for it.

    count: exactly as many objects as named; named: every named object found (by its colour); hidden: the
    background took a named object's colour (lower is better)."""
    bg, found = detect.detect(image)
    out: dict[str, float] = {"count": float(len(found) == len(scene.objects))}
    matched = [next((f for f in found if f.colour == o.colour), None) for o in scene.objects]
    out["named"] = float(all(m is not None for m in matched))
    out["hidden"] = float(bg in {o.colour for o in scene.objects})
    out["colour"] = float(np.mean([m is not None for m in matched]))
    out["shape"] = float(np.mean([m is not None and m.shape == o.shape for m, o in zip(matched, scene.objects)]))
    if scene.show_background:
        out["background"] = float(bg == scene.background)
    if scene.relation:
        a, b = matched
        out["relation"] = float(a is not None and b is not None and _relation_ok(scene.relation, a, b))
    elif scene.show_position:
        out["position"] = float(matched[0] is not None and _position_ok(scene.objects[0].position, matched[0]))
    return out
