"""Hard negatives against hidden objects: the mini's prior, asked for "a red circle above a blue square", gives in about
a fifth of its samples an embedding that says "red background", and the decoder then draws the circle red on red,
invisible. Given the prompt's own words with such a background ("... on a red background"), the prior's guidance
steers away from them (`avoid_texts`; the engine's `run_prior` applies them, each prompt part its own).

Measured on 48 two-object prompts with no background named, 4 images each (docs/BENCHMARKS.md, session 16): a
background in a named object's colour in 19.3% of images without it and 1.6% (en) / 0.0% (es) with it at scale 2,
relation 80.7% -> 95.8%. A prompt that names its background chose it and is left alone. Light to import (no torch)."""

from __future__ import annotations

import re

from hub.mini import world

MAX_AVOIDED = 3  # a prompt naming more colours steers away from its first three (each costs a prior row)

_EN = {c: c for c in world.COLOURS}
_ES = {form: c for c, forms in world.ES_COLOURS.items() for form in forms}
_BACKGROUND = re.compile(r"\b(background|backdrop|fondo)\b", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def named_colours(text: str) -> tuple[list[str], str]:
    """The world's colours `text` names, in order and without repeats, and the language they were named in ("es" when
    a Spanish colour word is among them)."""
    found, lang = [], "en"
    for word in _WORD.findall(text.lower()):
        colour = _EN.get(word) or _ES.get(word)
        if colour is None:
            continue
        if word in _ES and word not in _EN:
            lang = "es"
        if colour not in found:
            found.append(colour)
    return found, lang


def background_words(colour: str, lang: str) -> str:
    """ " on a red background" / " sobre fondo rojo": the canonical captions' words for a background."""
    if lang == "es":
        return f" sobre fondo {world.ES_BACKGROUNDS[colour]}"
    return f" on {'an' if colour[0] in 'aeiou' else 'a'} {colour} background"


def avoid_texts(text: str) -> list[str]:
    """What the prior should steer away from for `text`: the text itself with a background in each colour it names
    (its first MAX_AVOIDED), the background that would hide that object. Empty when it names a background or no
    colour of the world."""
    return background_texts(text)[0][:MAX_AVOIDED]


def background_texts(text: str) -> tuple[list[str], list[str]]:
    """(hiding, free): the prompt with a background in each colour it names, and with each other background. A prior
    sample the mini's own CLIP finds nearer to a hiding text than to every free one is drawn again (the catalog's
    `background_redraws`, KandinskyEngine.redraw_hidden). Both empty when it names a background or no colour."""
    text = text.strip()
    if not text or _BACKGROUND.search(text):
        return [], []
    colours, lang = named_colours(text)
    if not colours:
        return [], []
    hiding = [text + background_words(c, lang) for c in colours]
    return hiding, [text + background_words(c, lang) for c in world.BACKGROUNDS if c not in colours]
