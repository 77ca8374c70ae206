"""The shapes world: seeded 64x64 scenes of one or two flat-coloured shapes, captioned in English and Spanish.

Everything is known about a scene, so a generated image can be checked automatically (see evaluate.py).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from PIL import Image, ImageDraw

SIZE = 64
COLOURS = {  # name -> RGB, far apart so a detector can tell them apart
    "red": (220, 30, 30),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (245, 215, 40),
    "orange": (245, 140, 20),
    "purple": (140, 50, 180),
    "black": (15, 15, 15),
    "white": (245, 245, 245),
}
BACKGROUNDS = ("white", "black", "blue", "yellow", "green", "red", "purple", "orange")
SHAPES = ("circle", "square", "triangle", "star")
POSITIONS = {"left": (0.25, 0.5), "right": (0.75, 0.5), "top": (0.5, 0.25), "bottom": (0.5, 0.75), "centre": (0.5, 0.5)}
RELATIONS = ("above", "below", "left of", "right of")
SIZES = {"small": 0.16, "large": 0.3}  # radius as a fraction of the image

ES_SHAPES = {
    "circle": ("círculo", "m"),
    "square": ("cuadrado", "m"),
    "triangle": ("triángulo", "m"),
    "star": ("estrella", "f"),
}
ES_COLOURS = {
    "red": ("rojo", "roja"),
    "green": ("verde", "verde"),
    "blue": ("azul", "azul"),
    "yellow": ("amarillo", "amarilla"),
    "orange": ("naranja", "naranja"),
    "purple": ("morado", "morada"),
    "black": ("negro", "negra"),
    "white": ("blanco", "blanca"),
}
ES_SIZES = {"small": ("pequeño", "pequeña"), "large": ("grande", "grande")}
ES_POSITIONS = {
    "left": "a la izquierda",
    "right": "a la derecha",
    "top": "arriba",
    "bottom": "abajo",
    "centre": "en el centro",
}
EN_POSITIONS = {
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "bottom": "at the bottom",
    "centre": "in the centre",
}
ES_RELATIONS = {
    "above": "encima de",
    "below": "debajo de",
    "left of": "a la izquierda de",
    "right of": "a la derecha de",
}
ES_BACKGROUNDS = {k: v[0] for k, v in ES_COLOURS.items()}


@dataclass(frozen=True)
class Obj:
    shape: str
    colour: str
    size: str  # small | large
    cx: float  # centre, as a fraction of the image
    cy: float
    position: str | None = None  # for single objects


@dataclass(frozen=True)
class Scene:
    background: str
    objects: tuple[Obj, ...]
    relation: str | None = None  # objects[0] <relation> objects[1]
    show_background: bool = False
    show_size: bool = False
    show_position: bool = False

    def caption(self, lang: str = "en") -> str:
        return caption_en(self) if lang == "en" else caption_es(self)


def _article_en(size: str | None, colour: str) -> str:
    word = size or colour
    return "an" if word[0] in "aeiou" else "a"


def _obj_en(o: Obj, show_size: bool) -> str:
    size = o.size if show_size else None
    words = " ".join(w for w in (size, o.colour, o.shape) if w)
    return f"{_article_en(size, o.colour)} {words}"


def _obj_es(o: Obj, show_size: bool) -> str:
    noun, gender = ES_SHAPES[o.shape]
    g = 0 if gender == "m" else 1
    art = "un" if gender == "m" else "una"
    words = [art, noun, ES_COLOURS[o.colour][g]]
    if show_size:
        words.append(ES_SIZES[o.size][g])
    return " ".join(words)


def caption_en(s: Scene) -> str:
    first = _obj_en(s.objects[0], s.show_size)
    if s.relation:
        text = f"{first} {s.relation} {_obj_en(s.objects[1], s.show_size)}"
    else:
        text = first + (f" {EN_POSITIONS[s.objects[0].position]}" if s.show_position else "")
    return text + (f" on {_article_en(None, s.background)} {s.background} background" if s.show_background else "")


def caption_es(s: Scene) -> str:
    first = _obj_es(s.objects[0], s.show_size)
    if s.relation:
        second = _obj_es(s.objects[1], s.show_size)
        rel = ES_RELATIONS[s.relation]
        joined = f"{rel} {second}".replace("de un ", "de un ").replace(" de el ", " del ")
        text = f"{first} {joined}"
    else:
        text = first + (f" {ES_POSITIONS[s.objects[0].position]}" if s.show_position else "")
    return text + (f" sobre fondo {ES_BACKGROUNDS[s.background]}" if s.show_background else "")


def sample_scene(rng: random.Random, two: bool | None = None) -> Scene:
    """A random scene: objects never share the background's colour, two objects never share a colour."""
    two = rng.random() < 0.5 if two is None else two
    background = rng.choice(BACKGROUNDS)
    colours = [c for c in COLOURS if c != background]
    show_background = rng.random() < 0.5
    show_size = rng.random() < 0.4
    if not two:
        position = rng.choice(list(POSITIONS))
        cx, cy = POSITIONS[position]
        size = rng.choice(list(SIZES))
        if position != "centre":
            size = "small" if rng.random() < 0.7 else size
        jitter = lambda: rng.uniform(-0.05, 0.05)  # noqa: E731
        obj = Obj(rng.choice(SHAPES), rng.choice(colours), size, cx + jitter(), cy + jitter(), position)
        return Scene(background, (obj,), None, show_background, show_size, show_position=rng.random() < 0.6)
    relation = rng.choice(RELATIONS)
    c1, c2 = rng.sample(colours, 2)
    s1, s2 = rng.choice(SHAPES), rng.choice(SHAPES)
    along = rng.uniform(0.22, 0.3)  # the two centres sit either side of the middle
    across = 0.5 + rng.uniform(-0.08, 0.08)
    a, b = 0.5 - along, 0.5 + along
    first, second = {
        "above": ((across, a), (across, b)),
        "below": ((across, b), (across, a)),
        "left of": ((a, across), (b, across)),
        "right of": ((b, across), (a, across)),
    }[relation]
    objs = (Obj(s1, c1, "small", *first), Obj(s2, c2, "small", *second))
    return Scene(background, objs, relation, show_background, show_size=False)


def _star(cx, cy, r):
    pts = []
    for i in range(10):
        ang = -math.pi / 2 + i * math.pi / 5
        rad = r if i % 2 == 0 else r * 0.45
        pts.append((cx + rad * math.cos(ang), cy + rad * math.sin(ang)))
    return pts


def render(scene: Scene, size: int = SIZE) -> Image.Image:
    image = Image.new("RGB", (size, size), COLOURS[scene.background])
    draw = ImageDraw.Draw(image)
    for o in scene.objects:
        r = SIZES[o.size] * size
        cx, cy = o.cx * size, o.cy * size
        fill = COLOURS[o.colour]
        if o.shape == "circle":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        elif o.shape == "square":
            s = r * 0.88
            draw.rectangle([cx - s, cy - s, cx + s, cy + s], fill=fill)
        elif o.shape == "triangle":
            draw.polygon([(cx, cy - r), (cx + r * 0.95, cy + r * 0.8), (cx - r * 0.95, cy + r * 0.8)], fill=fill)
        else:
            draw.polygon(_star(cx, cy, r * 1.1), fill=fill)
    return image


def dataset(n: int, seed: int = 0, two_fraction: float = 0.5):
    """n (image, caption_en, caption_es, scene) tuples, the same for the same seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        scene = sample_scene(rng, two=rng.random() < two_fraction)
        out.append((render(scene), caption_en(scene), caption_es(scene), scene))
    return out


def swap_colours(scene: Scene) -> Scene:
    """A hard negative: same shapes and relation, colours swapped."""
    if len(scene.objects) < 2:
        return scene
    a, b = scene.objects
    return Scene(
        scene.background,
        (Obj(a.shape, b.colour, a.size, a.cx, a.cy), Obj(b.shape, a.colour, b.size, b.cx, b.cy)),
        scene.relation,
        scene.show_background,
        scene.show_size,
    )


def flip_relation(scene: Scene) -> Scene:
    """A hard negative: the same objects in the opposite relation."""
    if not scene.relation:
        return scene
    opposite = {"above": "below", "below": "above", "left of": "right of", "right of": "left of"}[scene.relation]
    return Scene(scene.background, scene.objects, opposite, scene.show_background, scene.show_size)


def swap_places(scene: Scene) -> Scene:
    """A hard negative that is also a true picture: the two objects trade places, so the relation flips."""
    if len(scene.objects) < 2:
        return scene
    a, b = scene.objects
    return replace(flip_relation(scene), objects=(replace(a, cx=b.cx, cy=b.cy), replace(b, cx=a.cx, cy=a.cy)))


def move_to(scene: Scene, position: str, rng: random.Random) -> Scene:
    """A single object moved to another named position (a hard negative for position words)."""
    o = scene.objects[0]
    cx, cy = POSITIONS[position]
    moved = replace(o, cx=cx + rng.uniform(-0.05, 0.05), cy=cy + rng.uniform(-0.05, 0.05), position=position)
    return replace(scene, objects=(moved,), show_position=True)
