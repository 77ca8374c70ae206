"""The one owner of a job's life: create (row first, then queue), start, progress, finish, fail, cancel, recover.

Only this module changes a job's status in the store. The scheduler is a pure fair queue and the worker pure
compute; here the two meet the store:

    submit   caps checked -> row written (status queued, with the work item as JSON) -> queued.
             If the row cannot be written, nothing is queued.
    run      on a scheduler slot: rows marked running (attempts + 1) -> the placement runs the batch ->
             each output's files written, then its row done (or failed / cancelled) -> its handle finishes.
    cancel   a queued job is removed and its row reads cancelled at once; a running one stops at its next step.
    stop     queued rows stay queued; running ones go back to queued: the next server runs them.
    recover  rows whose owner process is gone (hub.store): queued ones are queued again in their order, running
             ones are retried once (a job running during two crashes fails with a reason), half-written files go.

Jobs that only answer their caller (describe, shorten, the walkthrough, lessons) share the queue, caps and
fairness, but leave no row: after a crash there is nobody to answer.
"""

from __future__ import annotations

import contextvars
import logging
import sqlite3
import threading
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from hub.errors import Cancelled, LienzoError, StorageError, from_code
from hub.scheduler import Again, JobHandle, Scheduler, Work, _as_error
from hub.settings import Settings
from hub.store import Store
from hub.types import ImageResult, Origin, ProgressEvent
from hub.work import IMAGE_KINDS, Failure, ImageTask, Output, WorkItem, from_json, to_json, to_pil

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 2  # a job that was running when the server died twice is not run a third time


@dataclass
class Payload:
    """What the scheduler carries for a job (it never looks inside)."""

    item: WorkItem | None = None  # device work
    stored: bool = True  # has a row
    context: contextvars.Context = field(default_factory=contextvars.copy_context)  # the submitter's (ZeroGPU quota)
    frames: Iterator | None = None  # a lesson: the next frame is one turn, run in this process


class Jobs:
    def __init__(self, settings: Settings, store: Store, placement):
        self.settings, self.store, self.placement = settings, store, placement
        self.scheduler = Scheduler(
            self._run,
            max_queue=settings.max_queue,
            user_max_jobs=settings.user_max_jobs,
            max_batch=settings.max_batch,
            slots=placement.slots,
        )
        self._local = threading.Lock()  # torch work in this process (lessons) runs one piece at a time

    # --- create -------------------------------------------------------------------------------------
    def submit(
        self,
        item: WorkItem,
        origin: Origin,
        record: dict | None = None,
        batch_key: Hashable | None = None,
        max_batch: int | None = None,
    ) -> JobHandle:
        """Queue a device job. `record`: the row's fields (kind, model, request, seeds, size, parent ...), or
        None for an answer-only job. Raises QueueFull/UserLimit, or StorageError when the row cannot be written;
        in every case nothing is queued."""
        self.scheduler.admit(origin.user)
        if record is not None:
            self._create(item, origin, record)
        work = Work(
            item.job_id,
            origin.user,
            Payload(item=item, stored=record is not None),
            lane=origin.lane,
            batch_key=batch_key,
            max_batch=max_batch,
        )
        handle = self.scheduler.submit(work)
        log.info("job %s queued (%s)", item.job_id, item.kind)
        return handle

    def submit_turns(self, job_id: str, origin: Origin, frames: Iterator) -> JobHandle:
        """A job made of turns (a lesson): each frame is computed in its own turn in the queue, in this process,
        so image jobs queued meanwhile run between frames. Its handle's "turn" events carry the frames."""
        return self.scheduler.submit(Work(job_id, origin.user, Payload(stored=False, frames=frames), lane=origin.lane))

    def _create(self, item: WorkItem, origin: Origin, record: dict) -> None:
        try:
            shared = self.settings.share == "public" if origin.share is None else origin.share
            self.store.create(
                job_id=item.job_id,
                user=origin.user,
                surface=origin.surface,
                lane=origin.lane,
                work=to_json(item),
                reply=origin.reply,
                shared=shared,
                **record,
            )
        except (sqlite3.Error, OSError) as exc:
            log.error("job %s: the row could not be written", item.job_id, exc_info=exc)
            raise StorageError(
                "the job could not be saved (the server's storage is full or failing), so it was not "
                "queued; try again later"
            ) from None

    # --- cancel -------------------------------------------------------------------------------------
    def cancel(self, job_id: str) -> bool:
        where = self.scheduler.cancel(job_id)
        if where == "queued":
            self.store.fail(job_id, "cancelled while queued", "cancelled")
            log.info("job %s cancelled while queued", job_id)
        return where is not None

    # --- run (on a scheduler slot's thread) -----------------------------------------------------------
    def _run(self, batch: list[Work], report, cancelled) -> list[Any]:
        payloads: list[Payload] = [w.payload for w in batch]
        if payloads[0].frames is not None:
            return [self._turn(batch[0], cancelled)]
        for work, payload in zip(batch, payloads):
            if payload.stored:
                self.store.mark_running(work.job_id)
            log.info("job %s running", work.job_id)

        def emit(event: ProgressEvent) -> None:
            if isinstance(event.preview, (bytes, bytearray)):
                event = replace(event, preview=to_pil(event.preview))
            report(event)

        items = [p.item for p in payloads]
        try:
            outputs = self.placement.run(items, emit, cancelled, context=payloads[0].context)
        except Exception as exc:  # a placement that raises instead of answering: every job gets the error
            log.exception("placement failed on a batch of %d", len(batch))
            outputs = [Failure(i.job_id, "failed", str(_as_error(exc))) for i in items]
        return [
            self._settle(work, payload, out, cancelled(work.job_id))
            for work, payload, out in zip(batch, payloads, outputs)
        ]

    def _settle(self, work: Work, payload: Payload, out: Output | Failure, was_cancelled: bool):
        """Write what a job came to (files first, then the row) and return what its handle finishes with."""
        job_id, stored, stopping = work.job_id, payload.stored, self.scheduler.stopping
        stopped = isinstance(out, Failure) and out.code == "cancelled"
        if stopped and stopping:  # the shutdown stopped it (a job that finished anyway is kept below)
            if stored:
                self.store.requeue(job_id)
            log.info("job %s stopped by the shutdown; it runs again at the next start", job_id)
            return Cancelled("the server is shutting down; the job runs again when it restarts")
        if stopped or (was_cancelled and not stopping):  # its owner cancelled it
            if stored:
                self.store.fail(job_id, "cancelled", "cancelled")
            log.info("job %s cancelled", job_id)
            return Cancelled("cancelled")
        if isinstance(out, Failure):
            if stored:
                self.store.fail(job_id, out.message)
            log.info("job %s failed: %s", job_id, out.message)
            return from_code(out.code, out.message)
        try:
            if payload.item.kind in IMAGE_KINDS:
                record = self.store.finish(job_id, list(out.images), out.grid)
                result = _image_result(payload.item, record, out)
            else:
                if stored:
                    self.store.finish_text(job_id)
                result = out.value
        except (sqlite3.Error, OSError) as exc:
            log.error("job %s: its result could not be stored", job_id, exc_info=exc)
            if stored:
                self.store.fail(job_id, "the result could not be saved (the server's storage is full or failing)")
            return StorageError(
                "the images were made but could not be saved (the server's storage is full or failing); try again later"
            )
        log.info("job %s done", job_id)
        return result

    def _turn(self, work: Work, cancelled):
        frames = work.payload.frames
        with self._local:
            if cancelled(work.job_id) or self.scheduler.stopping:
                frames.close()
                return Cancelled("cancelled")
            try:
                frame = next(frames, None)
            except LienzoError as exc:
                return exc
            except Exception as exc:
                return _as_error(exc)
        return None if frame is None else Again(frame)

    # --- recover -------------------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Take over the jobs of processes that died. Returns the ids queued again."""
        queued: list[tuple[bool, Work]] = []
        for record in self.store.orphans():
            self.store.adopt(record.id)
            removed = self.store.remove_partial_files(record.id)
            if removed:
                log.info("job %s: removed %d half-written file(s)", record.id, removed)
            work_json, _ = self.store.saved_work(record.id)
            if record.status == "running" and record.attempts >= MAX_ATTEMPTS:
                self.store.fail(
                    record.id,
                    f"this job was running each of the {record.attempts} times the server "
                    "stopped unexpectedly, so it is not tried again; change it and run it again",
                )
                log.warning("job %s failed: it was running during %d crashes", record.id, record.attempts)
                continue
            try:
                item = from_json(work_json) if work_json else None
            except (ValueError, TypeError, KeyError):
                item = None
            if item is None:
                self.store.fail(record.id, "interrupted: the server restarted before this job finished; run it again")
                continue
            was_running = record.status == "running"
            if was_running:
                self.store.requeue(record.id, undo_attempt=False)
            task = item.task
            key = (item.model, task.batch_key()) if isinstance(task, ImageTask) else None
            queued.append(
                (was_running, Work(record.id, record.user, Payload(item=item), lane=record.lane, batch_key=key))
            )
        # the jobs that were running go first (each at the head of its user's queue), then the rest in their order
        for was_running, work in sorted(queued, key=lambda q: not q[0]):
            self.scheduler.submit(work, force=True)
        if queued:
            log.warning("%d job(s) from a process that stopped were queued again", len(queued))
        return [w.job_id for _, w in queued]


def _image_result(item: WorkItem, record, out: Output) -> ImageResult:
    t: ImageTask = item.task
    return ImageResult(
        job_id=record.id,
        kind=item.kind,
        model=item.model,
        images=record.images,
        grid=record.grid,
        seeds=tuple(t.seeds),
        width=t.width,
        height=t.height,
        prompt=item.prompt,
        negative_prompt=t.negative_prompt,
        parameters=out.parameters,
        notes=out.notes,
    )
