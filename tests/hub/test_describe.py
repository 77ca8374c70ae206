"""/describe on the bundled mini offers only prompts its world can draw, best first, with their similarity."""

from __future__ import annotations

import re

from hub.mini.world import BACKGROUNDS, COLOURS, RELATIONS, SHAPES, Obj, Scene, render
from hub.service import Hub
from hub.types import DescribeRequest
from tests.conftest import run

THING = rf"an? (?:{'|'.join(COLOURS)}) (?:{'|'.join(SHAPES)})"
DRAWABLE = re.compile(rf"{THING}(?: on an? (?:{'|'.join(BACKGROUNDS)}) background| (?:{'|'.join(RELATIONS)}) {THING})?")


def test_describe_offers_only_what_the_mini_can_draw_best_first(settings, tmp_path):
    star = Scene("black", (Obj("star", "yellow", "large", 0.5, 0.5, "centre"),))
    pair = Scene(
        "white", (Obj("circle", "red", "small", 0.5, 0.25), Obj("square", "blue", "small", 0.5, 0.75)), "above"
    )
    paths = []
    for name, scene in (("star", star), ("pair", pair)):
        paths.append(tmp_path / f"{name}.png")
        render(scene).save(paths[-1])

    async def main():
        hub = Hub.create(settings)
        try:
            return [await hub.describe(DescribeRequest(str(p))) for p in paths]
        finally:
            await hub.close()

    for result in run(main()):
        assert len(result.prompts) == 4 and len(set(result.prompts)) == 4
        assert all(DRAWABLE.fullmatch(p) for p in result.prompts), result.prompts
        assert list(result.scores) == sorted(result.scores, reverse=True) and min(result.scores) > 0


def test_describe_names_the_shapes_of_a_drawn_scene(settings, tmp_path):
    path = tmp_path / "star.png"
    render(Scene("black", (Obj("star", "yellow", "large", 0.5, 0.5, "centre"),))).save(path)

    async def main():
        hub = Hub.create(settings)
        try:
            return await hub.describe(DescribeRequest(str(path)))
        finally:
            await hub.close()

    result = run(main())
    assert "yellow star" in result.prompts[0]
