"""Hard negatives against hidden objects: the mini's prior, asked for "a red circle above a blue square", gives in about
a fifth of its samples an embedding that says "red background", and the decoder then draws the circle red on red,
invisible. Given the prompt's own words with such a background ("... on a red background"), the prior's guidance
steers away from them (`avoid_texts`; the engine's `run_prior` applies them, each prompt part its own).

Measured on 48 two-object prompts with no background named, 4 images each (docs/BENCHMARKS.md, session 16): a
background in a named object's colour in 19.3% of images without it and 1.6% (en) / 0.0% (es) with it at scale 2,
relation 80.7% -> 95.8%. A prompt that names its background ("... on a blue background") steers away from itself
with an object's colour in its place ("... on a green background"): on the 83 held-out prompts of eval-mini that name
one, 2 images each at 1:1 and 16:9, en and es, an object was hidden in 18 of 664 pictures unguarded, 9 with the
check on decoded pictures alone, 4 with both (docs/BENCHMARKS.md, session 20). Light to import (no torch)."""

from __future__ import annotations

import re

from hub.mini import world

MAX_AVOIDED = 3  # a prompt naming more colours steers away from its first three (each costs a prior row)

_EN = {c: c for c in world.COLOURS}
_ES = {form: c for c, forms in world.ES_COLOURS.items() for form in forms}
_BACKGROUND = re.compile(r"\b(background|backdrop|fondo)\b", re.IGNORECASE)
# the colour a prompt names for its background: "on a blue background", "against an orange backdrop", "sobre fondo
# azul", "con un fondo de color verde" (the word right before "background", the one right after "fondo")
_NAMED_EN = re.compile(r"\b(?:(an?)\s+)?([^\W\d_]+)\s+(?:background|backdrop)\b", re.IGNORECASE | re.UNICODE)
_NAMED_ES = re.compile(r"\bfondo\s+(?:de\s+color\s+)?([^\W\d_]+)", re.IGNORECASE | re.UNICODE)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_SIZED = re.compile(
    r"\b(small|large|big|tiny|little|huge|pequeñ[oa]s?|grandes?|enormes?|chic[oa]s?)\b", re.IGNORECASE | re.UNICODE
)


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
    return world.background_words(colour, lang)


def background_alone(colour: str, lang: str) -> str:
    """ "an orange background" / "fondo naranja": what a Zoom Out's or a Pan's new border is drawn after on the mini,
    whose world has nothing beyond the objects its prompt names (the picture itself is kept)."""
    return world.background_alone(colour, lang)


def drawn_large(text: str) -> str:
    """`text` naming one object by one colour and no size, with the object asked for large, as the canonical captions
    say it ("a large yellow star", "una estrella amarilla grande"); unchanged otherwise. What a region of a picture is
    repainted after: the engine draws the region's surroundings at the picture's full size, so an object drawn large
    there fills the region, where one of no named size came out a few pixels across once scaled back, too small to
    tell a square from a circle (docs/BENCHMARKS.md, session 25)."""
    colours, lang = named_colours(text)
    if len(colours) != 1 or _SIZED.search(text):
        return text
    words = list(_WORD.finditer(text))
    at = next(i for i, w in enumerate(words) if (_ES if lang == "es" else _EN).get(w.group().lower()) == colours[0])
    word = words[at]
    if lang == "es":
        return text[: word.end()] + " grande" + text[word.end() :]
    before = words[at - 1] if at else None
    if before is not None and before.group().lower() in ("a", "an") and text[before.end() : word.start()].isspace():
        return text[: before.start()] + before.group()[0] + " large " + text[word.start() :]
    return text[: word.start()] + "large " + text[word.start() :]


def with_background(text: str, colour: str) -> str:
    """`text` with a `colour` background named, in the language of its colour words; unchanged when it names a
    background already or names no colour of the world. What a region of a picture is repainted after: the mini's
    prior draws a background for every prompt, and one that names none gets a colour of its own (docs/BENCHMARKS.md,
    session 24: repainted from a crop around the region, the mini painted the whole crop one colour in a quarter of
    edits, and in none with the picture's background named)."""
    text = text.strip()
    colours, lang = named_colours(text)
    if not text or _BACKGROUND.search(text) or not colours or colour not in world.BACKGROUNDS:
        return text
    return text + background_words(colour, lang)


def avoid_texts(text: str) -> list[str]:
    """What the prior should steer away from for `text`: the text itself with a background in each colour it names
    (its first MAX_AVOIDED), the background that would hide that object; for a prompt that names its background,
    the prompt with an object's colour in its place. Empty when it names no colour of the world."""
    return background_texts(text)[0][:MAX_AVOIDED]


def background_texts(text: str) -> tuple[list[str], list[str]]:
    """(hiding, free): the prompt with a background in each colour it names, and with each other background. A prior
    sample the mini's own CLIP finds nearer to a hiding text than to every free one is drawn again (the catalog's
    `background_redraws`, KandinskyEngine.redraw_hidden). A prompt that names its background has one free text, itself,
    and hiding texts that name an object's colour in its place. Both empty when it names no colour of the world, or a
    background the check cannot read."""
    text = text.strip()
    if not text:
        return [], []
    if _BACKGROUND.search(text):
        return _named_background_texts(text)
    colours, lang = named_colours(text)
    if not colours:
        return [], []
    hiding = [text + background_words(c, lang) for c in colours]
    return hiding, [text + background_words(c, lang) for c in world.BACKGROUNDS if c not in colours]


def _named_background_texts(text: str) -> tuple[list[str], list[str]]:
    """background_texts for a prompt that names its background ("a green star below a white star on a blue
    background": hiding "... on a green background" and "... on a white background", free the prompt itself)."""
    for m in _NAMED_EN.finditer(text):
        colour = _EN.get(m.group(2).lower())
        if colour is None:
            continue
        rest = text[: m.start()] + text[m.end() :]

        def swap(c: str, m=m) -> str:
            article = "" if m.group(1) is None else ("an " if c[0] in "aeiou" else "a ")
            if m.group(1) and m.group(1)[0].isupper():
                article = article.capitalize()
            return text[: m.start()] + article + c + text[m.end(2) :]

        return _hiding_and_free(text, rest, colour, swap)
    for m in _NAMED_ES.finditer(text):
        colour = _ES.get(m.group(1).lower())
        if colour is not None:
            rest = text[: m.start()] + text[m.end() :]
            swap = lambda c, m=m: text[: m.start(1)] + world.ES_BACKGROUNDS[c] + text[m.end(1) :]  # noqa: E731
            return _hiding_and_free(text, rest, colour, swap)
    return [], []


def _hiding_and_free(text: str, rest: str, background: str, swap) -> tuple[list[str], list[str]]:
    """The hiding texts `swap` makes from the objects' colours (those `rest`, the prompt less its background, names),
    and the prompt itself as the one free text."""
    hiding = [swap(c) for c in named_colours(rest)[0] if c != background]
    return (hiding, [text]) if hiding else ([], [])
