"""The shapes world at every aspect and in every phrasing (issue 21): what the mini is trained and scored on."""

import dataclasses
import random
import re

import pytest

from hub.mini import detect, world
from hub.mini.evaluate import score
from hub.prompt import MAX_RATIO, size_for_aspect


def test_every_aspect_the_grammar_allows_has_a_bucket():
    for w in range(1, 41):
        for h in range(1, 41):
            if 1 / MAX_RATIO <= w / h <= MAX_RATIO:
                assert size_for_aspect((w, h), 64, 16, 256) in world.BUCKETS, (w, h)
    assert world.BUCKETS[0] == (64, 64) and len(set(world.BUCKETS)) == len(world.BUCKETS)
    for width, height in world.BUCKETS:
        assert width % 16 == 0 and height % 16 == 0 and 3000 <= width * height <= 5120


@pytest.mark.parametrize("size", world.BUCKETS)
def test_scenes_fit_every_bucket_and_the_detector_reads_them(size):
    """Drawn ground truth at each size: every object inside the picture, apart from the other, and scored right
    (shapes too where the short side is 48 px or more; at 32 px a small shape has a 6 px radius)."""
    rng = random.Random(sum(size))
    scores = {}
    for _ in range(60):
        scene = world.sample_scene(rng, size=size)
        assert scene.size == size
        for o in scene.objects:
            r = world.radius(o, *size)
            if o.size == "small":  # large lone shapes may be cut by the frame, as they always were
                assert r + 1 <= o.cx * size[0] <= size[0] - r - 1 and r + 1 <= o.cy * size[1] <= size[1] - r - 1
        image = world.render(scene)
        assert image.size == size
        for key, value in score(scene, image).items():
            scores.setdefault(key, []).append(value)
    mean = {k: sum(v) / len(v) for k, v in scores.items()}
    assert mean["colour"] == 1 and mean["named"] == 1 and mean["hidden"] == 0, mean
    assert mean.get("relation", 1) == 1 and mean.get("position", 1) >= 0.95, mean
    if min(size) >= 48:
        assert mean["shape"] >= 0.95, mean


def test_a_scene_drawn_square_keeps_its_layout():
    scene = world.sample_scene(random.Random(3), two=True, size=(128, 32))
    assert scene.relation in ("left of", "right of") or scene.relation in ("above", "below")
    _, wide = detect.detect(world.render(scene))
    _, square = detect.detect(world.render(scene.square()))
    assert scene.square().size == (64, 64)
    order = lambda found: [f.colour for f in sorted(found, key=lambda f: (f.cx, f.cy))]  # noqa: E731
    assert order(wide) == order(square)


def test_captions_vary_and_never_use_a_held_out_phrasing():
    rng = random.Random(0)
    seen = {"en": set(), "es": set()}
    for _ in range(3000):
        lang = rng.choice(("en", "es"))
        relation = rng.choice(world.RELATIONS)
        structure, word = world.phrasing(lang, relation, rng)
        assert (lang, structure, word) not in world.HELD_OUT
        seen[lang].add((structure, word))
    # every held-out structure and word is still met in training, with other partners
    for lang, structure, word in world.HELD_OUT:
        assert any(s == structure for s, _ in seen[lang]), structure
        assert any(w == word for _, w in seen[lang]), word
    captions = set()
    for _ in range(2000):
        scene = world.sample_scene(rng, two=True)
        for lang in ("en", "es"):
            text = world.phrase(scene, lang, rng)
            captions.add(text)
            assert not re.search(r"\b(hay (el|la)|de el|a el|there is the)\b", text), text
    assert len(captions) > 3000


def test_held_out_phrasings_say_the_scene():
    red_circle, blue_square = (
        world.Obj("circle", "red", "small", 0.5, 0.3),
        world.Obj("square", "blue", "small", 0.5, 0.7),
    )
    above = world.Scene("white", (red_circle, blue_square), "above")
    assert [world.held_out(above, "en", k) for k in range(3)] == [
        "a red circle on top of a blue square",
        "a blue square underneath a red circle",
        "a red circle, and below it a blue square",
    ]
    assert [world.held_out(above, "es", k) for k in range(2)] == [
        "un círculo rojo sobre un cuadrado azul",
        "un cuadrado azul por debajo de un círculo rojo",
    ]
    left = world.Scene("white", (red_circle, blue_square), "left of", show_background=False)
    assert [world.held_out(left, "en", k) for k in range(2)] == [
        "a red circle beside a blue square, on its left",
        "to the right of a red circle there is a blue square",
    ]
    assert [world.held_out(left, "es", k) for k in range(2)] == [
        "un círculo rojo junto a un cuadrado azul, a su izquierda",
        "a la derecha de un círculo rojo hay un cuadrado azul",
    ]


def test_batches_are_the_same_whatever_the_number_of_data_workers(tmp_path):
    """Each step's scenes come from the step's own seed, so worker processes (beside a GPU) build exactly the
    batches the 2-core recipe builds inline."""
    import torch

    from functools import partial

    from hub.mini.stage import prefetch
    from hub.mini.tokenizer import train_clip_bpe
    from hub.mini.data import clip_batch
    from hub.mini.recipe import TrainConfig

    texts = [world.phrase(world.sample_scene(random.Random(i)), "en", random.Random(i)) for i in range(200)]
    train_clip_bpe(texts, tmp_path / "tokenizer", vocab_size=300, max_length=32)
    fn = partial(clip_batch, TrainConfig(clip_batch=8), str(tmp_path / "tokenizer"))
    inline = list(prefetch(fn, 5, 8, workers=0))
    spawned = list(prefetch(fn, 5, 8, workers=2))
    for a, b in zip(inline, spawned, strict=True):
        assert torch.equal(a["ids"], b["ids"]) and torch.equal(a["pixels"], b["pixels"])
    assert not torch.equal(inline[0]["pixels"], inline[1]["pixels"])


def test_shape_cues_mark_what_tells_a_shape_from_the_shape_most_like_it():
    """A square's cues are its corners against a circle (the shape it is read as when drawn rounded), never its
    middle; every object of a scene has its cues; the decoder's pool keeps them on the latent grid."""
    import numpy as np
    import torch

    from hub.mini.data import _cue_grid

    square = world.Obj("square", "red", "small", 0.5, 0.5)
    scene = world.Scene("white", (square,))
    cues = world.shape_cues(scene)
    as_circle = world.Scene("white", (dataclasses.replace(square, shape="circle"),))
    differ = (np.asarray(world.render(scene)) != np.asarray(world.render(as_circle))).any(-1)
    assert np.array_equal(cues, differ) and cues.any()
    r = world.radius(square, 64, 64) * 0.88
    corner = round(32 - r + 0.5), round(32 - r + 0.5)
    assert cues[corner] and not cues[32, 32]
    area = (np.asarray(world.render(scene)) != np.asarray(world.COLOURS["white"])).any(-1).sum()
    assert cues.sum() < area / 2  # the few pixels that decide, not the whole shape

    rng = random.Random(5)
    scenes = [world.sample_scene(rng, two=True, size=(80, 48)) for _ in range(8)]
    for s in scenes:
        cues = world.shape_cues(s)
        for o in s.objects:  # each object's own cues lie around it
            x, y, r = o.cx * 80, o.cy * 48, world.radius(o, 80, 48) * 1.2 + 1
            ys, xs = np.mgrid[:48, :80]
            assert (cues & ((xs + 0.5 - x) ** 2 + (ys + 0.5 - y) ** 2 <= r * r)).any()
    grid = _cue_grid(scenes, (12, 20))
    assert grid.shape == (8, 1, 12, 20) and grid.dtype == torch.uint8
    for s, g in zip(scenes, grid):
        ys, xs = np.nonzero(world.shape_cues(s))
        assert all(g[0, y // 4, x // 4] == 1 for y, x in zip(ys, xs))  # every cue's latent is marked
        assert 0 < g.float().mean() < 0.25
