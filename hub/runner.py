"""What runs on the device thread: engines (loaded once, kept), pipeline calls, and the store writes
that must happen before a job is reported done. The scheduler calls a `DeviceRunner` with a batch."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from hub import catalog
from hub.engines.common import ImageTask
from hub.errors import Cancelled
from hub.images import grid
from hub.loading import Loader
from hub.pnginfo import format_parameters
from hub.scheduler import Work, _as_error
from hub.settings import Settings
from hub.store import Store
from hub.types import ImageResult, ProgressEvent, TextResult

PROGRESS_INTERVAL = 0.1  # seconds between step events


@dataclass
class ImageJob:
    spec: catalog.ModelSpec
    kind: str
    task: ImageTask
    prompt: str  # shown in PNG info
    grid: bool


@dataclass
class TextJob:
    spec: catalog.ModelSpec
    kind: str  # chat | expand
    request: Any


class DeviceRunner:
    def __init__(self, settings: Settings, store: Store, loader: Loader):
        self.settings, self.store, self.loader = settings, store, loader
        self.engines: dict[str, Any] = {}

    # --- the device thread --------------------------------------------------------------------
    def engine(self, spec: catalog.ModelSpec):
        engine = self.engines.get(spec.name)
        if engine is not None:
            return engine
        placement = self.loader.placement
        if spec.family == "kandinsky":
            from hub.engines.kandinsky import KandinskyEngine

            weights = self.loader.kandinsky(spec)
            engine = KandinskyEngine(weights.prior, weights.decoder, placement, self.settings.preview_every)
            engine.notes = weights.notes
        elif spec.family == "auto":
            from hub.engines.stable_diffusion import StableDiffusionEngine

            engine = StableDiffusionEngine(self.loader.auto_pipeline(spec), placement, self.settings.preview_every)
            engine.notes = ()
        else:
            from hub.engines.text import TextEngine

            engine = TextEngine(*self.loader.text(spec), placement)
            engine.notes = ()
        if spec.family != "text" and placement.device != "cpu":  # one image model on the GPU at a time
            for name in [n for n, e in self.engines.items() if catalog.MODELS[n].family != "text"]:
                del self.engines[name]
        self.engines[spec.name] = engine
        return engine

    def __call__(self, batch: list[Work], report, cancelled) -> list[Any]:
        payload = batch[0].payload
        for work in batch:
            self.store.mark_running(work.job_id)
        try:
            if isinstance(payload, TextJob):
                return [self._run_text(batch[0], report, cancelled)]
            return self._run_images(batch, report, cancelled)
        except Exception as exc:
            if len(batch) == 1:
                err = _as_error(exc)
                self.store.fail(batch[0].job_id, str(err), "cancelled" if err.code == "cancelled" else "failed")
                return [err]
            raise  # the scheduler retries each job alone

    def _run_images(self, batch: list[Work], report, cancelled) -> list[Any]:
        jobs: list[ImageJob] = [w.payload for w in batch]
        spec = jobs[0].spec
        engine = self.engine(spec)
        ids = [w.job_id for w in batch]

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
                report(ProgressEvent(job_id, stage, step, total, preview=shot))

        outputs = engine.generate([j.task for j in jobs], progress, lambda: all(cancelled(i) for i in ids))
        results = []
        for work, job, images in zip(batch, jobs, outputs):
            if cancelled(work.job_id):
                self.store.fail(work.job_id, "cancelled", "cancelled")
                results.append(Cancelled("cancelled"))
                continue
            results.append(self._save(work.job_id, job, images, engine.notes))
        return results

    def _save(self, job_id: str, job: ImageJob, images, notes: tuple[str, ...]) -> ImageResult:
        t = job.task
        model = job.spec.name + (" (untrained placeholder)" if notes else "")
        params = []
        for seed in t.seeds:
            settings = {"Steps": t.num_inference_steps, "Sampler": t.scheduler or "default", "CFG scale": t.guidance_scale,
                        "Seed": seed, "Size": f"{t.width}x{t.height}", "Model": model}
            if job.spec.family == "kandinsky" and t.parts:
                settings.update({"Prior steps": t.prior_num_inference_steps, "Prior CFG scale": t.prior_guidance_scale})
            if t.init_image is not None:
                settings["Denoising strength"] = t.strength
            settings.update({"Chaos": t.chaos or None, "Stop": t.stop, "Tile": "True" if t.tile else None,
                             "Job": job_id, "Kind": job.kind, "Generator": "Lienzo"})
            params.append(format_parameters(job.prompt, t.negative_prompt, settings))
        record = self.store.finish(job_id, images, params, grid(images) if job.grid and len(images) > 1 else None)
        return ImageResult(job_id=job_id, kind=job.kind, model=job.spec.name, images=record.images, grid=record.grid,
                           seeds=tuple(t.seeds), width=t.width, height=t.height, prompt=job.prompt,
                           negative_prompt=t.negative_prompt, parameters=tuple(params), notes=notes)

    def _run_text(self, work: Work, report, cancelled) -> TextResult:
        job: TextJob = work.payload
        engine = self.engine(job.spec)
        req = job.request

        def on_text(text: str) -> None:
            report(ProgressEvent(work.job_id, "text", text=text))

        stop = lambda: cancelled(work.job_id)  # noqa: E731
        if job.kind == "expand":
            text = engine.expand(req.prompt, req.max_new_tokens, req.seed, on_text, stop)
            had = {w.strip(".,;:!?").lower() for w in req.prompt.split()}
            added = " ".join(w for w in text.split() if w.strip(".,;:!?").lower() not in had)
        else:
            messages = [{"role": m.role, "content": m.content} for m in req.messages]
            text = engine.generate(messages, req.max_new_tokens, req.temperature, req.seed, on_text, stop)
            added = ""
        self.store.finish_text(work.job_id)
        return TextResult(job_id=work.job_id, text=text, model=job.spec.name, added=added)

