"""Shipped results: every explainer demo run once with its default settings, timed, and saved, so a section
opens on a good result instead of an empty plot (press Train to retrain from scratch).

`record` runs one demo's event handler the way Gradio does (each yield is a frame; `gr.skip()` keeps the
previous value) and times the first frame and the last; the handlers reach the teaching models through
`Hub.lesson`. `record_languages` records it in English while `Capture` keeps the lesson's frames, then replays
them (`Replay`, no training) through the same handler in Spanish: the notes, legends and captions of a shipped
run exist in both languages. `save`/`load` keep the final outputs in demos/explainer/shipped/<section>/<lang>/
(PNG, CSV, JSON). `lienzo bench --explainer` runs every section again, rewrites the folder and the timing table
(docs/explainer-timings.json).
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from PIL import Image

ROOT = Path(__file__).resolve().parent / "shipped"


LANGUAGES = ("en", "es")


@dataclass
class Recorded:
    outputs: list  # the final value of every output component
    first_frame_s: float
    total_s: float
    frames: int
    settings: dict = field(default_factory=dict)
    languages: dict = field(default_factory=dict)  # lang -> outputs, when recorded in every language


class Capture:
    """A Hub as a handler sees it, keeping the frames of the lessons it runs (for a `Replay`)."""

    def __init__(self, hub):
        self._hub, self.frames = hub, []

    async def lesson(self, req):
        async for frame in self._hub.lesson(req):
            self.frames.append(frame)
            yield frame

    def __getattr__(self, name):
        return getattr(self._hub, name)


class Replay:
    """A Hub that answers `lesson` with frames a `Capture` kept: the same run, formatted again, no training."""

    def __init__(self, frames):
        self._frames = frames

    async def lesson(self, req):
        for frame in self._frames:
            yield frame


async def record_languages(hub, handler: Callable, args: Iterable, n_outputs: int, settings=None) -> Recorded:
    """`handler(hub, *args)` recorded in English (timed: it trains), then its frames replayed in the other
    languages (untimed: formatting only)."""
    from demos.common import bind, speaking

    args = list(args)
    capture = Capture(hub)
    with speaking(LANGUAGES[0]):
        rec = await record(bind(capture, handler), args, n_outputs, settings)
    rec.languages = {LANGUAGES[0]: rec.outputs}
    for lang in LANGUAGES[1:]:
        with speaking(lang):
            rec.languages[lang] = (await record(bind(Replay(capture.frames), handler), args, n_outputs)).outputs
    return rec


def _is_skip(value) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update" and len(value) == 1


async def record(handler: Callable, args: Iterable, n_outputs: int, settings: dict | None = None) -> Recorded:
    """Run `handler(*args)` (sync or async; a function or a generator) and keep its final outputs and timings."""
    outputs: list = [None] * n_outputs
    frames = 0
    start = time.perf_counter()
    first = None
    result = handler(*args)
    if inspect.isawaitable(result):
        result = await result
    if hasattr(result, "__anext__"):
        stream = result
    else:

        async def stream_of(items):
            for item in items:
                yield item

        stream = stream_of(result if hasattr(result, "__next__") else [result])
    async for values in stream:
        values = values if isinstance(values, tuple) else (values,)
        for i, v in enumerate(values):
            if not _is_skip(v):
                outputs[i] = v
        frames += 1
        if first is None:
            first = time.perf_counter() - start
    total = time.perf_counter() - start
    return Recorded(outputs, first if first is not None else total, total, frames, dict(settings or {}))


def _pil(value) -> Image.Image:
    return value if isinstance(value, Image.Image) else Image.fromarray(value)


def save(section: str, rec: Recorded, root: Path = ROOT) -> Path:
    """The run's outputs in each language it was recorded in (<section>/<lang>/), its timings and settings."""
    folder = root / section
    folder.mkdir(parents=True, exist_ok=True)
    for old in sorted(folder.rglob("*"), reverse=True):
        old.rmdir() if old.is_dir() else old.unlink()
    languages = rec.languages or {LANGUAGES[0]: rec.outputs}
    for lang, outputs in languages.items():
        _save_outputs(folder / lang, outputs)
    meta = {
        "languages": list(languages),
        "first_frame_s": round(rec.first_frame_s, 2),
        "total_s": round(rec.total_s, 2),
        "frames": rec.frames,
        "settings": rec.settings,
    }
    (folder / "outputs.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder


def _save_outputs(folder: Path, outputs: list) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for i, v in enumerate(outputs):
        if v is None:
            items.append({"kind": "none"})
        elif isinstance(v, str):
            items.append({"kind": "text", "value": v})
        elif isinstance(v, pd.DataFrame):
            v.to_csv(folder / f"{i}.csv", index=False)
            items.append({"kind": "frame", "file": f"{i}.csv"})
        elif isinstance(v, list):  # a gallery: images, or (image, caption) pairs
            pics = []
            for j, item in enumerate(v):
                img, caption = item if isinstance(item, tuple) else (item, None)
                _pil(img).save(folder / f"{i}-{j}.png", optimize=True)
                pics.append({"file": f"{i}-{j}.png", "caption": caption})
            items.append({"kind": "gallery", "items": pics})
        else:
            _pil(v).save(folder / f"{i}.png", optimize=True)
            items.append({"kind": "image", "file": f"{i}.png"})
    (folder / "items.json").write_text(json.dumps(items, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def load(section: str, root: Path = ROOT, lang: str = "en") -> tuple[list, dict] | None:
    """The shipped outputs of `section` in `lang` (English where that language was not recorded) as values
    Gradio components take, and its timings; None if not shipped."""
    folder = root / section
    try:
        meta = json.loads((folder / "outputs.json").read_text(encoding="utf-8"))
        lang = lang if lang in meta["languages"] else meta["languages"][0]
        items = json.loads((folder / lang / "items.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, IndexError):
        return None
    folder = folder / lang
    values = []
    for item in items:
        kind = item["kind"]
        if kind == "text":
            values.append(item["value"])
        elif kind == "frame":
            values.append(pd.read_csv(folder / item["file"]))
        elif kind == "image":
            values.append(Image.open(folder / item["file"]).copy())
        elif kind == "gallery":
            values.append([(Image.open(folder / p["file"]).copy(), p["caption"]) for p in item["items"]])
        else:
            values.append(None)
    return values, meta


def timing_line(meta: dict) -> str:
    return f"[{meta['first_frame_s']:.1f} s → {meta['total_s']:.1f} s]"
