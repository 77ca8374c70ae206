"""The limits of text-to-image, shown live with the mini: one prompt drawn with 8 seeds, each picture checked by
the project's detector (`hub.mini.detect`, which never looks at the model) for what the lesson "Text-to-image
systems and their limits" explains: spatial relations, attribute binding, a colour bleeding into the background.

The prompts are scenes of the mini's world, so the detector knows what each picture should show."""

from __future__ import annotations

from dataclasses import dataclass

from hub.mini import world

SEEDS = 8  # pictures a case draws: two grids of four


@dataclass(frozen=True)
class Case:
    scene: world.Scene
    aspect: str  # the --ar it is drawn at
    checks: tuple[str, ...]  # what each picture is judged on, the case's point first


def _pair(a: tuple[str, str], b: tuple[str, str], relation: str, size: tuple[int, int]) -> world.Scene:
    (shape_a, colour_a), (shape_b, colour_b) = a, b
    objects = (world.Obj(shape_a, colour_a, "large", 0.5, 0.3), world.Obj(shape_b, colour_b, "large", 0.5, 0.7))
    return world.Scene("white", objects, relation=relation, width=size[0], height=size[1])


CASES: dict[str, Case] = {
    # the same relation, 8 seeds: how often does "above" hold?
    "relation": Case(_pair(("circle", "red"), ("square", "blue"), "above", (64, 64)), "1:1", ("relation", "colours")),
    # two colours, two shapes: does each colour stay on its own shape?
    "binding": Case(
        _pair(("triangle", "green"), ("star", "yellow"), "left of", (64, 64)), "1:1", ("binding", "colours")
    ),
    # the README's own prompt at 16:9: the background takes a named colour and hides its object
    "background": Case(
        _pair(("circle", "red"), ("square", "blue"), "above", (80, 48)), "16:9", ("background", "colours")
    ),
}


def prompt(case: str, lang: str) -> str:
    """The case's prompt in the learner's language, with the aspect flag when it is not square."""
    c = CASES[case]
    flag = "" if c.aspect == "1:1" else f" --ar {c.aspect}"
    return c.scene.caption(lang) + flag


def judge(case: str, image) -> dict[str, bool]:
    """What the detector sees in one picture, for the case's checks: True where the picture does what was asked.

    relation: both objects found (by colour) and placed as said; binding: each named colour on its named shape;
    colours: both named colours found; background: the background is not one of the named colours."""
    from hub.mini.scoring import score

    s = score(CASES[case].scene, image)
    verdict = {
        "relation": s.get("relation", 0.0) == 1.0,
        "binding": s["shape"] == 1.0,
        "colours": s["named"] == 1.0,
        "background": s["hidden"] == 0.0,
    }
    return {check: verdict[check] for check in CASES[case].checks}
