"""A device worker: loaded engines and pipeline calls. Plain work items in, progress events and outputs out.

It never sees the store, the queue or a job handle, so the same code runs on the Hub's device thread, in a
process ZeroGPU forks, or in a Ray Serve replica on another machine (hub/placement.py puts it there).

    worker.execute(items, emit, should_stop) -> [Output | Failure, ...]   # a thread in the Hub's process
    for message in worker.stream(items): ...                            # anywhere; close() cancels
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from hub import __version__, catalog, engines, lanes, threads
from hub.errors import Cancelled, LienzoError, shown
from hub.images import grid
from hub.loading import Loader
from hub.pnginfo import format_parameters, png_bytes, sampler_name
from hub.prompt import parse as parse_prompt
from hub.settings import Settings
from hub.types import ProgressEvent, TextResult, WalkthroughResult
from hub.work import IMAGE_KINDS, Failure, ImageTask, Output, WorkItem, to_pil, to_png

log = logging.getLogger(__name__)
VERSION = f"Lienzo {__version__}"  # A1111's "Version" key names the tool and its release
PROGRESS_INTERVAL = 0.1  # seconds between step events

Emit = Callable[[ProgressEvent], None]
ShouldStop = Callable[[str], bool]


def failure(job_id: str, exc: BaseException) -> Failure:
    """A job's exception as plain data; what is not ours is logged and summed up without its class or traceback."""
    if isinstance(exc, LienzoError):
        return Failure(job_id, exc.code, str(exc))
    log.error("job %s failed", job_id, exc_info=exc)
    detail = str(exc).splitlines()[0][:300] if str(exc) else "no details"
    return Failure(job_id, "failed", f"the model failed on this job ({detail})")


def _words(prompt: str) -> str:
    """A prompt without its flags (a variation or upscale runs on an image, with its parent's prompt)."""
    try:
        return parse_prompt(prompt).text or prompt
    except LienzoError:
        return prompt


def _notes(engine, t: ImageTask) -> tuple[str, ...]:
    """What the user should know about this result: the weights' own notes, and words the text encoder never read."""
    from hub.describe import cut_words

    notes = list(engine.notes)
    for text, _ in t.parts:
        cut = cut_words(engine.tokenizer, text)
        if cut:
            notes.append(
                f"the text encoder reads {engine.tokenizer.model_max_length} tokens: it never read {shown(cut, 120)} "
                "(put what matters first, or shorten the prompt)"
            )
    return tuple(notes)


class Worker:
    def __init__(self, settings: Settings, loader: Loader | None = None):
        self.settings = settings
        self.loader = loader or Loader(settings)
        self.engines: dict[str, Any] = {}

    # --- engines ------------------------------------------------------------------------------------
    def engine(self, spec: catalog.ModelSpec | str):
        spec = catalog.get(spec) if isinstance(spec, str) else spec
        engine = self.engines.get(spec.name)
        if engine is not None:
            return engine
        placement = self.loader.placement
        engine = engines.build(spec, self.loader, self.settings.preview_every)
        if spec.family != "text" and placement.device != "cpu":  # one image model on the GPU at a time
            for name in [n for n, e in self.engines.items() if catalog.MODELS[n].family != "text"]:
                del self.engines[name]
        self.engines[spec.name] = engine
        return engine

    # --- running a batch ----------------------------------------------------------------------------
    def execute(self, items: list[WorkItem], emit: Emit, should_stop: ShouldStop = lambda job_id: False) -> list:
        """Run a batch (items of one kind and model). One Output or Failure per item, in order; never raises.
        If the batch fails as a whole, each item is run again alone so one bad request cannot fail the others."""
        try:
            return self._execute(items, emit, should_stop)
        except Exception as exc:
            if len(items) == 1 or isinstance(exc, Cancelled):  # a cancelled batch is not run again alone
                return [failure(item.job_id, exc) for item in items]
            log.warning("batch of %d failed (%s); running each job alone", len(items), exc)
        out = []
        for item in items:
            try:
                out += self._execute([item], emit, should_stop)
            except Exception as exc:
                out.append(failure(item.job_id, exc))
        return out

    def stream(self, items: list[WorkItem]) -> Iterator[ProgressEvent | Output | Failure]:
        """execute() as a generator: progress events as they happen, then the outputs. Closing it early
        stops the batch at its next step (how a cancel crosses a process boundary)."""
        messages: queue.SimpleQueue = queue.SimpleQueue()
        stop = threading.Event()
        finished = object()

        def run() -> None:
            try:
                for out in self.execute(items, messages.put, lambda job_id: stop.is_set()):
                    messages.put(out)
            finally:
                messages.put(finished)

        thread = threading.Thread(target=run, name="lienzo-worker-batch", daemon=True)
        thread.start()
        try:
            while (message := messages.get()) is not finished:
                yield message
        finally:
            stop.set()
            # wait for the batch to stop: its thread must not outlive the caller's request. Two streams can run at once
            # (a Ray replica takes max_ongoing_requests 2): each engine's lock keeps its diffusers calls one at a time,
            # its encode cache has a lock of its own, and every loaded tokenizer one (hub/loading.py)
            thread.join()

    def _execute(self, items: list[WorkItem], emit: Emit, should_stop: ShouldStop) -> list:
        kind = items[0].kind
        threads.apply(self.settings.threads)  # the cores other work leaves free now (hub/threads.py)
        lanes.set_mode(self.settings.lanes)  # a batch split across those cores where that is faster (hub/lanes.py)
        if kind in IMAGE_KINDS:
            return self._images(items, emit, should_stop)
        if len(items) != 1:
            raise ValueError(f"{kind} jobs run one at a time, got a batch of {len(items)}")
        item = items[0]
        if kind in ("expand", "chat"):
            return [Output(item.job_id, value=self._text(item, emit, should_stop))]
        if kind == "describe":
            from hub import describe

            spec = catalog.get(item.model)
            engine, image = self.engine(spec), to_pil(item.task["image"])
            shapes = spec.family == "kandinsky" and spec.bundled is not None  # the mini: its world's grammar only
            return [Output(item.job_id, value=describe.describe(engine, image, shapes_world=shapes))]
        if kind == "shorten":
            from hub import describe

            return [Output(item.job_id, value=describe.shorten(self.engine(item.model), item.task["text"]))]
        if kind == "walkthrough":
            task: ImageTask = item.task["task"].loaded()
            out = self.engine(item.model).walkthrough(task, item.task["show_every"], item.task.get("row", 0))
            return [Output(item.job_id, value=WalkthroughResult(**out))]
        raise ValueError(f"a worker cannot run {kind!r} jobs")

    def _images(self, items: list[WorkItem], emit: Emit, should_stop: ShouldStop) -> list:
        spec = catalog.get(items[0].model)
        engine = self.engine(spec)
        ids = [item.job_id for item in items]
        last = {"t": 0.0, "stage": None}

        def progress(stage, step, total, previews):
            # at most ~10 step events a second: each one wakes the event loop, which on a small CPU
            # competes with the pipeline; stage changes, previews and the last step always go out
            now = time.monotonic()
            if not (previews or step >= total or stage != last["stage"] or now - last["t"] >= PROGRESS_INTERVAL):
                return
            last.update(t=now, stage=stage)
            for k, job_id in enumerate(ids):
                shot = previews[k] if previews else None
                emit(ProgressEvent(job_id, stage, step, total, preview=None if shot is None else to_png(shot)))

        tasks = [item.task.loaded() for item in items]
        outputs = engine.generate(tasks, progress, lambda: all(should_stop(i) for i in ids))
        results = []
        for item, task, images in zip(items, tasks, outputs):
            if should_stop(item.job_id):
                results.append(Failure(item.job_id, Cancelled.code, "cancelled"))
                continue
            results.append(self._encode(item, task, spec, images, engine))
        return results

    @staticmethod
    def _encode(item: WorkItem, t: ImageTask, spec: catalog.ModelSpec, images, engine) -> Output:
        """PNG bytes carrying A1111-style parameters, and the 2x2 grid: what the Hub's process writes to disk.

        The prompt is the words alone (the flags became settings); hub/pnginfo.py says which key holds what."""
        model = spec.name + (" (untrained placeholder)" if engine.notes else "")
        words = ", ".join(text for text, _ in t.parts) if t.parts else _words(item.prompt)
        weighted = len(t.parts) > 1 or any(w != 1.0 for _, w in t.parts)
        params = []
        for seed in t.seeds:
            settings = {
                "Steps": t.num_inference_steps,
                "Sampler": sampler_name(t.scheduler or engine.sampler),
                "CFG scale": t.guidance_scale,
                "Seed": seed,
                "Size": f"{t.width}x{t.height}",
                "Model hash": engine.model_hash,
                "Model": model,
            }
            if t.init_image is not None:
                settings["Denoising strength"] = t.strength
            if spec.family == "kandinsky" and t.parts:
                settings.update({"Prior steps": t.prior_num_inference_steps, "Prior CFG scale": t.prior_guidance_scale})
                if t.prior_scheduler:
                    settings["Prior sampler"] = sampler_name(t.prior_scheduler)
            settings.update(
                {
                    "Tiling": "True" if t.tile else None,
                    "Chaos": t.chaos or None,
                    "Stop": t.stop,
                    "Prompt weights": " ".join(f"{text}::{w:g}" for text, w in t.parts) if weighted else None,
                    "Job": item.job_id,
                    "Kind": item.kind,
                    "Version": VERSION,
                }
            )
            params.append(format_parameters(words, t.negative_prompt, settings))
        pngs = tuple(png_bytes(im, p) for im, p in zip(images, params))
        sheet = png_bytes(grid(images), params[0]) if item.grid and len(images) > 1 else None
        return Output(item.job_id, images=pngs, grid=sheet, parameters=tuple(params), notes=_notes(engine, t))

    def _text(self, item: WorkItem, emit: Emit, should_stop: ShouldStop) -> TextResult:
        spec = catalog.get(item.model)
        engine = self.engine(spec)
        req = item.task

        def on_text(text: str) -> None:
            emit(ProgressEvent(item.job_id, "text", text=text))

        stop = lambda: should_stop(item.job_id)  # noqa: E731
        if item.kind == "expand":
            text = engine.expand(req["prompt"], req["max_new_tokens"], req["seed"], on_text, stop)
            had = {w.strip(".,;:!?").lower() for w in req["prompt"].split()}
            added = " ".join(w for w in text.split() if w.strip(".,;:!?").lower() not in had)
        else:
            text = engine.generate(
                req["messages"], req["max_new_tokens"], req["temperature"], req["seed"], on_text, stop
            )
            added = ""
        if should_stop(item.job_id):
            raise Cancelled("cancelled")
        return TextResult(job_id=item.job_id, text=text, model=spec.name, added=added)
