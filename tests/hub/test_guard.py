"""The mini's background guard (hub.mini.guard): hard negatives that keep a named object's colour off the background."""

from dataclasses import replace

import pytest
from PIL import Image

from hub import catalog
from hub.mini import world
from hub.mini.guard import MAX_AVOIDED, avoid_texts, named_colours
from hub.mini.scoring import score
from hub.types import EnhanceRequest, ImagineRequest, Origin
from tests.hub.test_service import with_hub

ME = Origin("ana", surface="web")


def test_the_prompt_with_a_background_in_each_colour_it_names_in_its_own_language():
    assert avoid_texts("a red circle above a blue square") == [
        "a red circle above a blue square on a red background",
        "a red circle above a blue square on a blue background",
    ]
    assert avoid_texts(" una estrella AMARILLA junto a un triángulo naranja ") == [
        "una estrella AMARILLA junto a un triángulo naranja sobre fondo amarillo",
        "una estrella AMARILLA junto a un triángulo naranja sobre fondo naranja",
    ]
    assert avoid_texts("an orange star") == ["an orange star on an orange background"]
    assert named_colours("un cuadrado morado, otro morado y uno rojo") == (["purple", "red"], "es")


@pytest.mark.parametrize(
    "text",
    ["a red circle on a blue background", "un círculo rojo sobre fondo verde", "a cat", "", "   ", "redder squares"],
)
def test_a_prompt_that_chose_its_background_or_names_no_colour_is_left_alone(text):
    assert avoid_texts(text) == []


def test_at_most_three_colours_are_avoided():
    text = "red, green, blue, yellow and black"
    assert len(avoid_texts(text)) == MAX_AVOIDED == 3


def hidden(paths, scene) -> int:
    return sum(score(scene, Image.open(p))["hidden"] == 1.0 for p in paths)


def test_on_the_bundled_mini_the_guard_uncovers_an_object_the_background_hid(settings, monkeypatch):
    """A prompt whose four pictures (seed 49) all paint the background red or blue without the guard: with it, none;
    the job keeps its hard negatives, and Enhance of a draft redraws with the draft's own."""
    text = "un círculo rojo encima de un cuadrado azul"
    objects = (world.Obj("circle", "red", "small", 0.5, 0.3), world.Obj("square", "blue", "small", 0.5, 0.7))
    scene = world.Scene("white", objects, "above")

    async def body(hub):
        job = await (await hub.imagine(ImagineRequest(f"{text} --seed 49", origin=ME))).result()
        draft = await (await hub.imagine(ImagineRequest(f"{text} --seed 49 --draft", origin=ME))).result()
        enhanced = await (await hub.enhance(EnhanceRequest(draft.job_id, 1, origin=ME))).result()
        mixed = ImagineRequest("a red circle::1 a blue square::1 --seed 49", num_images=1, origin=ME)
        mix = (await (await hub.imagine(mixed)).result()).job_id
        ids = (job.job_id, draft.job_id, enhanced.job_id)
        return job.images, [hub.get_job(i).request for i in ids] + [hub.get_job(mix).request]

    guarded, records = with_hub(settings, body)
    mini = catalog.MODELS["mini"]
    monkeypatch.setitem(catalog.MODELS, "mini", replace(mini, defaults=replace(mini.defaults, background_guard=0.0)))
    unguarded, plain = with_hub(settings, body)
    assert hidden(unguarded, scene) == 4 and hidden(guarded, scene) == 0
    avoid = [avoid_texts(text)]
    assert [(r.get("avoid"), r.get("avoid_scale")) for r in records[:3]] == [(avoid, 2.0)] * 3
    assert "avoid" not in records[3]  # a mix of texts: each is a part, not the scene
    assert all("avoid" not in r for r in plain)
