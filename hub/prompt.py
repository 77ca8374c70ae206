"""Midjourney-style prompt grammar shared by every front end.

    [image URLs ...] text[::weight] [more text[::weight] ...] [--flag value ...]

Flags: --ar W:H, --seed N, --no a, b, --chaos/--c 0-100, --quality/--q .25|.5|1|2, --stop 10-100,
--stylize/--s 0-1000, --tile, --iw 0-3, --fast, --relax, --draft (a few-step draft to Enhance later).
An em or en dash before a flag name (what phones type for "--") counts as "--". `parse` raises only
`PromptError`, naming the flag, the value and what is allowed.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from hub.errors import PromptError
from hub.work import SEED_MOD

SEED_MAX = SEED_MOD - 1  # seeds are 32-bit, as torch.Generator and A1111 take them
QUALITIES = (0.25, 0.5, 1.0, 2.0)
MAX_PARTS = 5  # Kandinsky mixes at most 5 ingredients (texts + images)
MAX_RATIO = 4.0

_DASH = re.compile(r"(?:(?<=\s)|^)[\u2014\u2013\u2012\u2015\u2212]{1,2}(?=[A-Za-z])")
_FLAG = re.compile(r"(?:(?<=\s)|^)--([A-Za-z][A-Za-z0-9_-]*)")
_URL = re.compile(r"^<?(https?://[^\s<>]+?)>?$", re.IGNORECASE)
_WEIGHT = re.compile(r"::\s*(-?\d*\.?\d+)?")

_ALIASES = {
    "aspect": "ar",
    "c": "chaos",
    "q": "quality",
    "s": "stylize",
    "seed": "seed",
    "no": "no",
    "ar": "ar",
    "chaos": "chaos",
    "quality": "quality",
    "stylize": "stylize",
    "stop": "stop",
    "tile": "tile",
    "draft": "draft",
    "iw": "iw",
    "fast": "fast",
    "relax": "relax",
}
_MIDJOURNEY_ONLY = {
    "v",
    "version",
    "niji",
    "style",
    "weird",
    "w",
    "sref",
    "cref",
    "sw",
    "cw",
    "p",
    "personalize",
    "repeat",
    "r",
    "turbo",
    "video",
    "raw",
    "hd",
    "test",
    "testp",
    "uplight",
    "upbeta",
    "upanime",
    "creative",
    "sameseed",
    "ow",
    "oref",
}
KNOWN_FLAGS = (
    "--ar, --seed, --no, --chaos, --quality/--q, --stop, --stylize/--s, --tile, --iw, --fast, --relax, --draft"
)


@dataclass(frozen=True)
class ParsedPrompt:
    text: str  # the words to draw, flags and weights removed
    parts: tuple[tuple[str, float], ...]  # (text, weight) from `::`; one part when there is none
    image_urls: tuple[str, ...] = ()
    negative_prompt: str = ""
    aspect: tuple[int, int] | None = None
    seed: int | None = None
    chaos: int = 0
    quality: float | None = None
    stop: int | None = None
    stylize: int | None = None
    tile: bool = False
    draft: bool = False
    image_weight: float | None = None
    lane: str | None = None

    @property
    def is_multi(self) -> bool:
        return len(self.parts) > 1 or any(w != 1.0 for _, w in self.parts)


def normalise(text: str) -> str:
    """Em/en dashes typed for `--` become `--`; other whitespace becomes plain spaces."""
    text = text.replace("\u00a0", " ").replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return _DASH.sub("--", text)


def check_text(what: str, text: object, limit: int = 6000) -> str:
    """A text field as typed, refused in words when it is not text a model can read: not a string, longer than
    `limit`, or holding control characters (NUL ...) or half of a surrogate pair (a broken emoji)."""
    if not isinstance(text, str):
        raise PromptError(what, None, "must be text")
    if len(text) > limit:
        raise PromptError(what, None, f"is {len(text):,} characters long; at most {limit:,} characters")
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cs" or (cat == "Cc" and ch not in "\t\n\r"):
            raise PromptError(
                what,
                None,
                f"contains a character that is not text (U+{ord(ch):04X}: a control "
                "character or half of a broken emoji); remove it and try again",
            )
    return text


def parse(prompt: str) -> ParsedPrompt:
    text = normalise(check_text("prompt", prompt)).strip()

    urls, text = _take_urls(text)
    body, flags = _split_flags(text)
    values: dict = {}
    negatives: list[str] = []
    for name, raw in flags:
        canon = _ALIASES.get(name.lower())
        if canon is None:
            if name.lower() in _MIDJOURNEY_ONLY:
                raise PromptError(
                    f"--{name}",
                    None,
                    "a Midjourney-only option that Lienzo does not have; "
                    f"choose a model with the model option instead. Lienzo understands {KNOWN_FLAGS}",
                )
            raise PromptError(f"--{name}", None, f"unknown flag; Lienzo understands {KNOWN_FLAGS}")
        if canon == "no":
            negatives.append(_no(raw))
            continue
        if canon in values or (canon in ("fast", "relax") and "lane" in values):
            raise PromptError(f"--{name}", raw or None, "given more than once; give each flag once")
        if canon in ("fast", "relax"):
            _no_value(name, raw)
            values["lane"] = canon
        elif canon in ("tile", "draft"):
            _no_value(name, raw)
            values[canon] = True
        else:
            values[canon] = _PARSERS[canon](f"--{name}", raw)

    parts = _weighted_parts(body)
    if not parts and not urls:
        raise PromptError("prompt", None, "the prompt is empty; write what to draw (flags alone are not enough)")
    if len(parts) + len(urls) > MAX_PARTS:
        raise PromptError(
            "prompt",
            f"{len(parts)} texts and {len(urls)} images",
            f"at most {MAX_PARTS} ingredients in one prompt (texts split by :: plus image URLs)",
        )
    return ParsedPrompt(
        text=" ".join(t for t, _ in parts),
        parts=tuple(parts),
        image_urls=tuple(urls),
        negative_prompt=", ".join(negatives),
        aspect=values.get("ar"),
        seed=values.get("seed"),
        chaos=values.get("chaos", 0),
        quality=values.get("quality"),
        stop=values.get("stop"),
        stylize=values.get("stylize"),
        tile=values.get("tile", False),
        draft=values.get("draft", False),
        image_weight=values.get("iw"),
        lane=values.get("lane"),
    )


def _take_urls(text: str) -> tuple[list[str], str]:
    urls: list[str] = []
    words = text.split(" ")
    while words:
        if words[0] == "":
            words.pop(0)
            continue
        m = _URL.match(words[0])
        if not m:
            break
        urls.append(m.group(1))
        words.pop(0)
    return urls, " ".join(words)


def _split_flags(text: str) -> tuple[str, list[tuple[str, str]]]:
    matches = list(_FLAG.finditer(text))
    if not matches:
        _reject_stray_dashes(text)
        return text, []
    body = text[: matches[0].start()]
    _reject_stray_dashes(body)
    flags = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        flags.append((m.group(1), text[m.end() : end].strip()))
    return body, flags


def _reject_stray_dashes(body: str) -> None:
    m = re.search(r"(?:(?<=\s)|^)--(?=\s|$|[^A-Za-z])", body)
    if m:
        raise PromptError(
            "--", None, f"a flag needs a name right after the dashes (e.g. --ar 16:9); Lienzo understands {KNOWN_FLAGS}"
        )


def _weighted_parts(body: str) -> list[tuple[str, float]]:
    pieces = _WEIGHT.split(body)
    # re.split with one group: [text, weight, text, weight, ..., text]
    parts: list[tuple[str, float]] = []
    saw_weight = len(pieces) > 1
    for i in range(0, len(pieces), 2):
        chunk = " ".join(pieces[i].split())
        raw = pieces[i + 1] if i + 1 < len(pieces) else None
        if not chunk:
            if raw is not None:
                raise PromptError("::", raw, "a weight must follow some text, as in 'a red circle::2 a blue square'")
            continue
        weight = 1.0
        if raw is not None:
            weight = _number("::", raw, -10.0, 10.0, "a weight between -10 and 10")
        parts.append((chunk, weight))
    if saw_weight and parts and sum(w for _, w in parts) <= 0:
        raise PromptError("::", ", ".join(f"{w:g}" for _, w in parts), "the weights must add up to more than 0")
    return parts


def _no_value(name: str, raw: str) -> None:
    if raw:
        raise PromptError(f"--{name}", raw, "takes no value; put it after the text of the prompt")


def _number(flag: str, raw: str, low: float, high: float, allowed: str) -> float:
    if len(raw) > 32:
        raise PromptError(flag, raw, allowed)
    try:
        value = float(raw)
    except ValueError:
        raise PromptError(flag, raw or None, allowed) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise PromptError(flag, raw, allowed)
    return value


def _integer(flag: str, raw: str, low: int, high: int) -> int:
    allowed = f"a whole number from {low} to {high}"
    if not re.fullmatch(r"[0-9]{1,%d}" % len(str(high)), raw or ""):
        raise PromptError(flag, raw or None, allowed if raw else f"needs a value: {allowed}")
    value = int(raw)
    if not low <= value <= high:
        raise PromptError(flag, raw, allowed)
    return value


def parse_aspect(flag: str, raw: str) -> tuple[int, int]:
    """An aspect ratio such as 16:9 (reduced), or PromptError naming `flag` and what is allowed."""
    return _ar(flag, raw if isinstance(raw, str) else "")


def _ar(flag: str, raw: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{1,4})\s*:\s*(\d{1,4})", raw or "")
    allowed = f"width:height as whole numbers, e.g. 16:9, between 1:{MAX_RATIO:g} and {MAX_RATIO:g}:1"
    if not m:
        raise PromptError(flag, raw or None, allowed if raw else f"needs a value: {allowed}")
    w, h = int(m.group(1)), int(m.group(2))
    if w == 0 or h == 0 or not (1 / MAX_RATIO) <= w / h <= MAX_RATIO:
        raise PromptError(flag, raw, allowed)
    g = math.gcd(w, h)
    return w // g, h // g


def _quality(flag: str, raw: str) -> float:
    allowed = "one of .25, .5, 1, 2"
    value = _number(flag, raw, 0.0, 2.0, allowed)
    if value not in QUALITIES:
        raise PromptError(flag, raw, allowed)
    return value


def _no(raw: str) -> str:
    items = [" ".join(x.split()) for x in raw.split(",")]
    items = [x for x in items if x]
    if not items:
        raise PromptError("--no", None, "needs what to leave out, e.g. --no text, people")
    return ", ".join(items)


_PARSERS = {
    "ar": _ar,
    "seed": lambda f, r: _integer(f, r, 0, SEED_MAX),
    "chaos": lambda f, r: _integer(f, r, 0, 100),
    "quality": _quality,
    "stop": lambda f, r: _integer(f, r, 10, 100),
    "stylize": lambda f, r: _integer(f, r, 0, 1000),
    "iw": lambda f, r: _number(f, r, 0.0, 3.0, "a number from 0 to 3"),
}


def size_for_aspect(aspect: tuple[int, int], base: int, multiple: int, max_side: int) -> tuple[int, int]:
    """(width, height) with about base*base pixels in the ratio `aspect`, each a multiple of `multiple`."""
    w, h = aspect
    width = math.sqrt(base * base * w / h)
    height = width * h / w
    snap = lambda v: max(multiple, min(max_side - max_side % multiple, int(round(v / multiple)) * multiple))  # noqa: E731
    return snap(width), snap(height)


def guidance_for_stylize(stylize: int, default: float) -> float:
    """--stylize 100 (Midjourney's default) keeps the model's guidance; 0 halves it; it grows up to 3x at 500+."""
    return round(default * min(3.0, 0.5 + 0.5 * stylize / 100), 3)


def steps_for_quality(quality: float, default: int) -> int:
    return max(1, int(round(default * quality)))
