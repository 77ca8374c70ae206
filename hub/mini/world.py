"""The shapes world: seeded scenes of one or two flat-coloured shapes, captioned in English and Spanish.

A scene is drawn at any of the sizes the prompt grammar's aspect ratios give the mini (`BUCKETS`: about 64x64
pixels, from 1:4 to 4:1); positions are fractions of the picture, so the same scene can be drawn square too
(what the image encoder sees). Captions come in a canonical form (`Scene.caption`) and in the many ways people
write them (`phrase`), except a few held-out phrasings (`held_out`) that training never sees and eval-mini
scores. Everything is known about a scene, so a generated image can be checked automatically (evaluate.py).
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw

SIZE = 64
MULTIPLE = 16  # the mini's MoVQ: sizes are multiples of 16 pixels


def _buckets() -> tuple[tuple[int, int], ...]:
    """Every (width, height) `--ar` can give the mini (1:4 ... 4:1, about SIZE*SIZE pixels), square first."""
    from hub.prompt import MAX_RATIO, size_for_aspect

    seen = {(SIZE, SIZE): None}
    for k in range(-200, 201):  # ratios spaced evenly on a log scale, finer than any snap can tell apart
        ratio = MAX_RATIO ** (k / 200)
        seen.setdefault(size_for_aspect((ratio, 1), SIZE, MULTIPLE, 4 * SIZE), None)
    return tuple(seen)


BUCKETS = _buckets()
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
SIZES = {"small": 0.16, "large": 0.3}  # radius as a fraction of the picture's scale (see `scale`)

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
OPPOSITE = {"above": "below", "below": "above", "left of": "right of", "right of": "left of"}


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
    width: int = SIZE  # the picture's size in pixels (one of BUCKETS when sampled)
    height: int = SIZE

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    def square(self) -> "Scene":
        """The same scene drawn SIZE x SIZE: what the image encoder sees of it."""
        return replace(self, width=SIZE, height=SIZE)

    def caption(self, lang: str = "en") -> str:
        return caption_en(self) if lang == "en" else caption_es(self)


def _article_en(size: str | None, colour: str) -> str:
    word = size or colour
    return "an" if word[0] in "aeiou" else "a"


def _obj_en(o: Obj, show_size: bool) -> str:
    size = o.size if show_size else None
    words = " ".join(w for w in (size, o.colour, o.shape) if w)
    return f"{_article_en(size, o.colour)} {words}"


def named(shape: str, colour: str, lang: str) -> str:
    """One shape by colour, with the definite article: "the red circle", "la estrella roja"."""
    if lang != "es":
        return f"the {colour} {shape}"
    noun, gender = ES_SHAPES[shape]
    g = 0 if gender == "m" else 1
    return f"{'el' if g == 0 else 'la'} {noun} {ES_COLOURS[colour][g]}"


def _obj_es(o: Obj, show_size: bool) -> str:
    noun, gender = ES_SHAPES[o.shape]
    g = 0 if gender == "m" else 1
    art = "un" if gender == "m" else "una"
    words = [art, noun, ES_COLOURS[o.colour][g]]
    if show_size:
        words.append(ES_SIZES[o.size][g])
    return " ".join(words)


def background_alone(colour: str, lang: str) -> str:
    """ "a blue background" / "fondo azul": the canonical captions' words for a background of `colour`."""
    return f"fondo {ES_BACKGROUNDS[colour]}" if lang == "es" else f"{_article_en(None, colour)} {colour} background"


def background_words(colour: str, lang: str) -> str:
    """ " on a blue background" / " sobre fondo azul": a background as the canonical captions append it."""
    return (" sobre " if lang == "es" else " on ") + background_alone(colour, lang)


def _background_words(s: Scene, lang: str) -> str:
    """The scene's background words, when the scene names it."""
    return background_words(s.background, lang) if s.show_background else ""


def caption_en(s: Scene) -> str:
    first = _obj_en(s.objects[0], s.show_size)
    if s.relation:
        text = f"{first} {s.relation} {_obj_en(s.objects[1], s.show_size)}"
    else:
        text = first + (f" {EN_POSITIONS[s.objects[0].position]}" if s.show_position else "")
    return text + _background_words(s, "en")


def caption_es(s: Scene) -> str:
    first = _obj_es(s.objects[0], s.show_size)
    if s.relation:
        second = _obj_es(s.objects[1], s.show_size)
        rel = ES_RELATIONS[s.relation]
        joined = f"{rel} {second}".replace("de un ", "de un ").replace(" de el ", " del ")
        text = f"{first} {joined}"
    else:
        text = first + (f" {ES_POSITIONS[s.objects[0].position]}" if s.show_position else "")
    return text + _background_words(s, "es")


def scale(width: int, height: int) -> float:
    """Pixels that a radius fraction (SIZES) is a fraction of: SIZE for the square, a little more than the short
    side for other shapes (so a 16:9 picture's shapes stay large enough to tell apart), never more than the
    square's area would give."""
    return min(math.sqrt(width * height), 1.2 * min(width, height))


def radius(o: Obj, width: int, height: int) -> float:
    return SIZES[o.size] * scale(width, height)


def sample_scene(rng: random.Random, two: bool | None = None, size: tuple[int, int] = (SIZE, SIZE)) -> Scene:
    """A random scene drawn at `size` (width, height): objects never share the background's colour, two objects
    never share a colour, and every object lies inside the picture with a gap between two."""
    width, height = size
    two = rng.random() < 0.5 if two is None else two
    background = rng.choice(BACKGROUNDS)
    colours = [c for c in COLOURS if c != background]
    show_background = rng.random() < 0.5
    show_size = rng.random() < 0.4

    def inside(v: float, r: float, length: int) -> float:  # a centre (fraction) moved so the shape fits
        lo, hi = (r + 1) / length, 1 - (r + 1) / length
        return min(max(v, lo), hi) if lo <= hi else 0.5

    if not two:
        position = rng.choice(list(POSITIONS))
        cx, cy = POSITIONS[position]
        size_name = rng.choice(list(SIZES))
        if position != "centre":
            size_name = "small" if rng.random() < 0.7 else size_name
        jitter = lambda: rng.uniform(-0.05, 0.05)  # noqa: E731
        shape, colour = rng.choice(SHAPES), rng.choice(colours)
        r = SIZES[size_name] * scale(width, height)
        obj = Obj(shape, colour, size_name, inside(cx + jitter(), r, width), inside(cy + jitter(), r, height), position)
        return Scene(
            background, (obj,), None, show_background, show_size, rng.random() < 0.6, width=width, height=height
        )
    relation = rng.choice(RELATIONS)
    c1, c2 = rng.sample(colours, 2)
    s1, s2 = rng.choice(SHAPES), rng.choice(SHAPES)
    vertical = relation in ("above", "below")
    length, other = (height, width) if vertical else (width, height)
    r = SIZES["small"] * scale(width, height)
    # the two centres sit either side of the middle, far enough apart for a gap, near enough to stay inside
    along = rng.uniform(0.22, 0.3) * length
    along = min(max(along, r + 2), length / 2 - r - 1.5) / length
    across = inside(0.5 + rng.uniform(-0.08, 0.08), r, other)
    a, b = 0.5 - along, 0.5 + along
    first, second = {
        "above": ((across, a), (across, b)),
        "below": ((across, b), (across, a)),
        "left of": ((a, across), (b, across)),
        "right of": ((b, across), (a, across)),
    }[relation]
    objs = (Obj(s1, c1, "small", *first), Obj(s2, c2, "small", *second))
    return Scene(background, objs, relation, show_background, show_size=False, width=width, height=height)


def _star(cx, cy, r):
    pts = []
    for i in range(10):
        ang = -math.pi / 2 + i * math.pi / 5
        rad = r if i % 2 == 0 else r * 0.45
        pts.append((cx + rad * math.cos(ang), cy + rad * math.sin(ang)))
    return pts


def render(scene: Scene, size: int | tuple[int, int] | None = None) -> Image.Image:
    """The scene as a picture: at its own size, or `size` (a side, or (width, height)) with the same layout."""
    width, height = scene.size if size is None else (size, size) if isinstance(size, int) else size
    image = Image.new("RGB", (width, height), COLOURS[scene.background])
    draw = ImageDraw.Draw(image)
    for o in scene.objects:
        r = radius(o, width, height)
        cx, cy = o.cx * width, o.cy * height
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


def shape_cues(scene: Scene) -> np.ndarray:
    """(height, width) bool: the pixels that tell each object's shape from the shape most like it, where the scene
    and the scene with that one object drawn as that other shape differ (a square's corners against a circle). What
    a decoder must draw exactly for the shape to read."""
    own = np.asarray(render(scene))
    cues = np.zeros(own.shape[:2], bool)
    for k, o in enumerate(scene.objects):
        nearest = None
        for other in SHAPES:
            if other != o.shape:
                swapped = scene.objects[:k] + (replace(o, shape=other),) + scene.objects[k + 1 :]
                differ = (np.asarray(render(replace(scene, objects=swapped))) != own).any(-1)
                if nearest is None or differ.sum() < nearest.sum():
                    nearest = differ
        cues |= nearest
    return cues


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
    return replace(scene, objects=(replace(a, colour=b.colour), replace(b, colour=a.colour)))


def flip_relation(scene: Scene) -> Scene:
    """A hard negative: the same objects in the opposite relation."""
    if not scene.relation:
        return scene
    return replace(scene, relation=OPPOSITE[scene.relation])


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


# --- captions as people write them ------------------------------------------------------------------
# A two-object caption is a structure (where the words go) and a relation word; the subject is either object,
# with the relation turned round when it is the second. HELD_OUT lists (language, structure, word) triples that
# `phrase` never writes: eval-mini scores them (`held_out`), so they measure phrasing the model never read. Their
# words and structures each appear in training with other partners ("on top of" in "X sitting on top of Y", the
# "to the ... of X there is Y" structure with the other relation words).
REL_WORDS = {
    "en": {
        "above": ("above", "over", "on top of", "higher than"),
        "below": ("below", "under", "underneath", "beneath", "lower than"),
        "left of": ("left of", "to the left of", "on the left of"),
        "right of": ("right of", "to the right of", "on the right of"),
    },
    "es": {
        "above": ("encima de", "sobre", "por encima de", "arriba de"),
        "below": ("debajo de", "bajo", "por debajo de", "abajo de"),
        "left of": ("a la izquierda de", "al lado izquierdo de"),
        "right of": ("a la derecha de", "al lado derecho de"),
    },
}
# the relation said about the other object: "Y with X above", "Y, and below it X", "Y con X encima", "Y, y debajo X"
REL_ADVERBS = {
    "en": {
        "above": ("above", "on top"),
        "below": ("below", "underneath"),
        "left of": ("to its left",),
        "right of": ("to its right",),
    },
    "es": {"above": ("encima",), "below": ("debajo",), "left of": ("a la izquierda",), "right of": ("a la derecha",)},
}
AND_IT = {  # English "Y, and <word> it X"
    "above": ("above", "over", "on top of"),
    "below": ("below", "under", "underneath", "beneath"),
    "left of": ("to the left of",),
    "right of": ("to the right of",),
}
STRUCTURES = {
    "en": {
        "plain": "{x} {rel} {y}",
        "is": "{x} is {rel} {y}",
        "sitting": "{x} sitting {rel} {y}",
        "there": "there is {x} {rel} {y}",
        "front": "{rel} {y} there is {x}",
        "front-is": "{rel} {y} is {x}",
        "with": "{y} with {x} {adv}",
        "and-it": "{y}, and {adv} it {x}",
        "beside": "{x} beside {y}, on {side}",
        "next-to": "{x} next to {y}, on {side}",
    },
    "es": {
        "plain": "{x} {rel} {y}",
        "is": "{x} está {rel} {y}",
        "there": "hay {x} {rel} {y}",
        "front": "{rel} {y} hay {x}",
        "front-is": "{rel} {y} está {x}",
        "front-se-ve": "{rel} {y} se ve {x}",
        "front-aparece": "{rel} {y} aparece {x}",
        "queda": "{x} queda {rel} {y}",
        "se-ve": "se ve {x} {rel} {y}",
        "with": "{y} con {x} {adv}",
        "and-it": "{y}, y {adv} {x}",
        "beside": "{x} junto a {y}, {side}",
        "next-to": "{x} al lado de {y}, {side}",
    },
}
SIDES = {  # "beside"/"next-to": which side the subject is on
    "en": {"left of": ("its left", "the left"), "right of": ("its right", "the right")},
    "es": {"left of": ("a su izquierda", "a la izquierda"), "right of": ("a su derecha", "a la derecha")},
}
# the held-out phrasings: (language, structure, word); "X" is the subject, "Y" the other object
HELD_OUT = (
    ("en", "plain", "on top of"),  # X on top of Y
    ("en", "plain", "underneath"),  # Y underneath X
    ("en", "and-it", "below"),  # X, and below it Y  ("and-it" reads "{y}, and {adv} it {x}")
    ("en", "beside", "its left"),  # X beside Y, on its left
    ("en", "front", "to the right of"),  # to the right of X there is Y
    ("es", "plain", "sobre"),  # X sobre Y
    ("es", "plain", "por debajo de"),  # Y por debajo de X
    ("es", "beside", "a su izquierda"),  # X junto a Y, a su izquierda
    ("es", "front", "a la derecha de"),  # a la derecha de X hay Y
)
_HELD = set(HELD_OUT)
EN_POSITION_WORDS = {
    "left": ("on the left", "on the left side", "at the left"),
    "right": ("on the right", "on the right side", "at the right"),
    "top": ("at the top", "at the top of the picture", "near the top"),
    "bottom": ("at the bottom", "at the bottom of the picture", "near the bottom"),
    "centre": ("in the centre", "in the center", "in the middle"),
}
ES_POSITION_WORDS = {
    "left": ("a la izquierda", "en la parte izquierda"),
    "right": ("a la derecha", "en la parte derecha"),
    "top": ("arriba", "en la parte de arriba"),
    "bottom": ("abajo", "en la parte de abajo"),
    "centre": ("en el centro", "en medio"),
}


def _object_phrase(o: Obj, lang: str, show_size: bool, rng: random.Random) -> str:
    size = o.size if show_size else None
    if lang == "en":
        article = rng.choices(("a", "the", "one"), (0.8, 0.15, 0.05))[0]
        if rng.random() < 0.15:  # "a square in blue"
            words = " ".join(w for w in (size, o.shape, "in", o.colour) if w)
        else:
            words = " ".join(w for w in (size, o.colour, o.shape) if w)
        if article == "a" and words[0] in "aeiou":
            article = "an"
        return f"{article} {words}"
    noun, gender = ES_SHAPES[o.shape]
    g = 0 if gender == "m" else 1
    article = rng.choices((("un", "una"), ("el", "la")), (0.8, 0.2))[0][g]
    colour = ES_COLOURS[o.colour][g] if rng.random() < 0.85 else f"de color {ES_COLOURS[o.colour][0]}"
    if not show_size:
        return f"{article} {noun} {colour}"
    size_word = ES_SIZES[o.size][g]
    if rng.random() < 0.3 and o.size == "small":  # "un pequeño círculo rojo"
        return f"{article} {size_word} {noun} {colour}"
    return f"{article} {noun} {colour} {size_word}"


def _contract(text: str) -> str:
    """Spanish contractions: de el -> del, a el -> al."""
    return re.sub(r"\ba el\b", "al", re.sub(r"\bde el\b", "del", text))


def _relation_caption(lang: str, structure: str, word: str, x: str, y: str) -> str:
    """`x` (a phrase) stands in `relation` to `y`, written in `structure` with `word` (its relation word, adverb
    or side)."""
    return STRUCTURES[lang][structure].format(x=x, y=y, rel=word, adv=word, side=word)


def _relation_choices(lang: str, relation: str) -> list[tuple[str, str]]:
    """(structure, word) pairs that can say `relation` (the subject's relation to the other object)."""
    out = []
    for structure in STRUCTURES[lang]:
        if structure in ("beside", "next-to"):
            words = SIDES[lang].get(relation, ())
        elif structure == "and-it" and lang == "en":
            words = AND_IT[relation]
        elif structure in ("with", "and-it"):
            words = REL_ADVERBS[lang][relation]
        else:
            words = REL_WORDS[lang][relation]
        if lang == "en" and structure == "sitting":
            words = [w for w in words if w in ("on top of", "above", "under", "beneath", "below")]
        out += [(structure, w) for w in words]
    return out


def _finish(text: str, scene: Scene, lang: str, rng: random.Random) -> str:
    if scene.show_background:
        c = scene.background
        if lang == "en":
            form = rng.choice(("on {a} {c} background", "against {a} {c} background", "with {a} {c} background"))
            text += " " + form.format(a=_article_en(None, c), c=c)
        else:
            form = rng.choice(("sobre fondo {c}", "con fondo {c}", "sobre un fondo {c}", "en un fondo {c}"))
            text += " " + form.format(c=ES_BACKGROUNDS[c])
    if lang == "es":  # "hay" takes an indefinite article
        return _contract(re.sub(r"\bhay (el|la) ", lambda m: "hay un " if m.group(1) == "el" else "hay una ", text))
    return re.sub(
        r"\bthere is (the|one) (\w)", lambda m: f"there is {'an' if m.group(2) in 'aeiou' else 'a'} {m.group(2)}", text
    )


def phrase(scene: Scene, lang: str, rng: random.Random) -> str:
    """One of the many ways a person might describe `scene` (never a HELD_OUT phrasing): synonyms, word order,
    articles, either object first."""
    if not scene.relation:
        o = scene.objects[0]
        text = _object_phrase(o, lang, scene.show_size, rng)
        if scene.show_position:
            where = rng.choice((EN_POSITION_WORDS if lang == "en" else ES_POSITION_WORDS)[o.position])
            form = rng.choices(("{o} {p}", "{p}, {o}", "{there} {o} {p}"), (0.6, 0.2, 0.2))[0]
            there = "there is" if lang == "en" else "hay"
            text = form.format(o=text, p=where, there=there)
        return _finish(text, scene, lang, rng)
    a, b = scene.objects
    relation = scene.relation
    if rng.random() < 0.5:  # the second object as the subject
        a, b, relation = b, a, OPPOSITE[relation]
    structure, word = phrasing(lang, relation, rng)
    x = _object_phrase(a, lang, False, rng)
    y = _object_phrase(b, lang, False, rng)
    return _finish(_relation_caption(lang, structure, word, x, y), scene, lang, rng)


def phrasing(lang: str, relation: str, rng: random.Random) -> tuple[str, str]:
    """The (structure, word) `phrase` writes a relation in: about a third canonical ("X above Y"), the rest spread
    over the others, never a HELD_OUT one."""
    if rng.random() >= 0.7:
        return "plain", REL_WORDS[lang][relation][0]
    return rng.choice([c for c in _relation_choices(lang, relation) if (lang, *c) not in _HELD])


def held_out(scene: Scene, lang: str, k: int) -> str:
    """The `k`th held-out phrasing (of those that can say this scene's relation) of a two-object scene, with the
    canonical object phrases ("a red circle", "un círculo rojo")."""
    a, b = scene.objects
    options = []
    for hl, structure, word in HELD_OUT:
        if hl != lang:
            continue
        for x, y, relation in ((a, b, scene.relation), (b, a, OPPOSITE[scene.relation])):
            if (structure, word) in _relation_choices(lang, relation):
                options.append((structure, word, x, y))
    structure, word, x, y = options[k % len(options)]
    obj = _obj_en if lang == "en" else _obj_es
    text = _relation_caption(lang, structure, word, obj(x, False), obj(y, False))
    return text + _background_words(scene, lang)
