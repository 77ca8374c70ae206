"""An asyncio job queue feeding one worker thread per device.

- Fair: users are served round-robin, so one user's 50 jobs do not starve another's one.
- Lanes: "fast" first; "relax" when fast is empty, and every 4th pick so it never starves.
- Caps: at most `user_max_jobs` queued + running per user, `max_queue` waiting in all.
- Batching: jobs with equal `batch_key` (same model, size, steps, guidance) run in one call.
  If a batch fails, each job is run again alone so one bad request cannot fail the others.
- Slots: at most `slots` batches run at once, each on a thread of its own (1 for a local device, so its
  pipelines are never used concurrently; one per replica when the work runs in other processes).
- Turns: a job may give its slot back between pieces of work (`Again`), e.g. a lesson between frames, so
  jobs queued meanwhile run between its pieces; each piece waits its turn behind its user's other jobs.
- Progress events go to every listener of a job's handle; a late listener sees them all.

The scheduler knows nothing of the store: `hub.jobs.Jobs` owns a job's life and gives the scheduler its
runner, which runs on the slot's thread and hands back one result (or exception) per job.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from hub.errors import Cancelled, JobFailed, LienzoError, QueueFull, UserLimit
from hub.types import ProgressEvent

log = logging.getLogger(__name__)
RELAX_EVERY = 4
KEEP_HANDLES = 2000


@dataclass
class Work:
    job_id: str
    user: str
    payload: Any
    lane: str = "fast"
    batch_key: Hashable | None = None  # None: never batched
    max_batch: int | None = None  # the engine's own limit for this kind of work
    seq: int = 0  # arrival order in its lane (set when queued)


class JobHandle:
    """What `submit` returns: await `result()`, or `async for event in handle.events()`."""

    def __init__(self, job_id: str, loop: asyncio.AbstractEventLoop):
        self.job_id = job_id
        self._events: list[ProgressEvent] = []
        self._changed = asyncio.Event()
        self._future: asyncio.Future = loop.create_future()

    def _push(self, event: ProgressEvent) -> None:
        if self._future.done():
            return
        self._events.append(event)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _finish(self, result: Any = None, error: BaseException | None = None) -> None:
        if self._future.done():
            return
        if error is not None:
            stage = "cancelled" if isinstance(error, Cancelled) else "failed"
            self._push(ProgressEvent(self.job_id, stage, message=str(error)))
            self._future.set_exception(error)
        else:
            self._push(ProgressEvent(self.job_id, "done"))
            self._future.set_result(result)
        # mark retrieved so an unawaited failure does not log "exception was never retrieved"
        self._future.exception() if error is not None else None
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    @property
    def latest(self) -> ProgressEvent | None:
        return self._events[-1] if self._events else None

    def done(self) -> bool:
        return self._future.done()

    async def result(self) -> Any:
        return await asyncio.shield(self._future)

    async def events(self) -> AsyncIterator[ProgressEvent]:
        i = 0
        while True:
            changed = self._changed
            while i < len(self._events):
                yield self._events[i]
                i += 1
            if self._future.done():
                return
            await changed.wait()


@dataclass
class Again:
    """A runner's result for a job that is not finished: `value` goes to its listeners as a "turn" event's
    `data`, and the job waits for its next turn."""

    value: Any = None


# runner(batch, report, cancelled) -> one result, exception or Again per work item; runs on a slot's thread
Runner = Callable[[list[Work], Callable[[ProgressEvent], None], Callable[[str], bool]], list[Any]]


@dataclass
class _Lane:
    """One lane's queued jobs, per user, served round-robin by *last service*: the user served longest ago (or
    never) goes next, ties by arrival. A user whose queue empties and refills keeps their place in that rotation
    instead of jumping ahead of users who waited meanwhile."""

    queues: dict[str, deque] = field(default_factory=dict)  # user -> deque[Work]
    last: dict[str, int] = field(default_factory=dict)  # user -> tick of their latest service
    tick: int = 0
    arrivals: int = 0

    def push(self, work: Work) -> None:
        self.arrivals += 1
        work.seq = self.arrivals
        self.queues.setdefault(work.user, deque()).append(work)

    def remove(self, work: Work) -> None:
        q = self.queues[work.user]
        q.remove(work)
        if not q:
            del self.queues[work.user]

    def served(self, user: str) -> None:
        self.tick += 1
        self.last[user] = self.tick
        if len(self.last) > 10_000:  # forget users with nothing queued, oldest service first
            idle = sorted((t, u) for u, t in self.last.items() if u not in self.queues)
            for _, u in idle[: len(idle) // 2]:
                del self.last[u]

    def __len__(self) -> int:
        return sum(len(q) for q in self.queues.values())

    def __bool__(self) -> bool:
        return bool(self.queues)

    def in_order(self) -> list[Work]:
        """Every queued job in the order round-robin would serve it."""
        heap = [(self.last.get(u, 0), q[0].seq, u, 0) for u, q in self.queues.items()]
        heapq.heapify(heap)
        out, tick = [], self.tick
        while heap:
            _, _, user, i = heapq.heappop(heap)
            q = self.queues[user]
            out.append(q[i])
            if i + 1 < len(q):
                tick += 1
                heapq.heappush(heap, (tick, q[i + 1].seq, user, i + 1))
        return out


class Scheduler:
    def __init__(
        self,
        runner: Runner,
        *,
        max_queue: int = 64,
        user_max_jobs: int = 4,
        max_batch: int = 4,
        name: str = "device",
        slots: int = 1,
    ):
        self.runner = runner
        self.max_queue, self.user_max_jobs, self.max_batch = max_queue, user_max_jobs, max_batch
        self.slots = max(1, slots)
        self.stopping = False
        self._lanes = {"fast": _Lane(), "relax": _Lane()}
        self._running: dict[str, Work] = {}
        self._cancelled: set[str] = set()
        self._handles: OrderedDict[str, JobHandle] = OrderedDict()
        self._picks = 0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._batches: set[asyncio.Task] = set()
        self._thread = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix=f"lienzo-{name}")
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._loop = asyncio.get_running_loop()
            self._wake = asyncio.Event()
            self._task = self._loop.create_task(self._worker(), name="lienzo-scheduler")

    async def stop(self) -> None:
        self.stopping = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        for task in list(self._batches):
            task.cancel()
        for lane in self._lanes.values():
            for work in lane.in_order():
                lane.remove(work)
                self._handles[work.job_id]._finish(error=Cancelled("the server is shutting down"))
        for job_id in list(self._running):
            self._cancelled.add(job_id)  # a running batch stops at its next step
            self._handles[job_id]._finish(error=Cancelled("the server is shutting down"))
        await asyncio.get_running_loop().run_in_executor(None, self._thread.shutdown, True)
        self._running.clear()

    def run_sync(self, fn: Callable, *args) -> asyncio.Future:
        """Run a small function on the device thread (e.g. a tokenizer or text-encoder call)."""
        return asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    # --- submitting ---------------------------------------------------------------------------
    def admit(self, user: str) -> None:
        """Raise QueueFull or UserLimit if a new job of `user`'s would be refused now."""
        waiting = self.waiting
        if waiting >= self.max_queue:
            raise QueueFull(
                f"the queue is full ({waiting} jobs waiting, the maximum is {self.max_queue}); try again in a minute"
            )
        mine = self.user_jobs(user)
        if mine >= self.user_max_jobs:
            raise UserLimit(user, mine, self.user_max_jobs)

    def submit(self, work: Work, *, force: bool = False) -> JobHandle:
        """Queue a job after `admit`'s checks (force: without them, for jobs taken over after a restart)."""
        self.start()
        if not force:
            self.admit(work.user)
        handle = JobHandle(work.job_id, self._loop)
        self._handles[work.job_id] = handle
        while len(self._handles) > KEEP_HANDLES:
            old_id, old = next(iter(self._handles.items()))
            if not old.done():
                break
            self._handles.pop(old_id)
        self._lanes[work.lane if work.lane in self._lanes else "fast"].push(work)
        self._announce_positions()
        self._wake.set()
        return handle

    def handle(self, job_id: str) -> JobHandle | None:
        return self._handles.get(job_id)

    def user_jobs(self, user: str) -> int:
        queued = sum(len(lane.queues.get(user, ())) for lane in self._lanes.values())
        return queued + sum(1 for w in self._running.values() if w.user == user)

    def position(self, job_id: str) -> int | None:
        for i, work in enumerate(self._order()):
            if work.job_id == job_id:
                return i + 1
        return None

    def cancel(self, job_id: str) -> str | None:
        """Cancel a queued job at once ("queued"), or a running one at its next step ("running"); None if the
        scheduler does not hold the job."""
        for lane in self._lanes.values():
            for work in lane.in_order():
                if work.job_id == job_id:
                    lane.remove(work)
                    self._handles[job_id]._finish(error=Cancelled("cancelled while queued"))
                    self._announce_positions()
                    return "queued"
        if job_id in self._running:
            self._cancelled.add(job_id)
            return "running"
        return None

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def waiting(self) -> int:
        return sum(len(lane) for lane in self._lanes.values())

    # --- the worker ---------------------------------------------------------------------------
    def _order(self) -> list[Work]:
        return self._lanes["fast"].in_order() + self._lanes["relax"].in_order()

    def _announce_positions(self) -> None:
        for i, work in enumerate(self._order()):
            handle = self._handles[work.job_id]
            if handle.latest is None or handle.latest.position != i + 1:
                handle._push(ProgressEvent(work.job_id, "queued", position=i + 1))

    def _pick(self) -> list[Work]:
        fast, relax = self._lanes["fast"], self._lanes["relax"]
        self._picks += 1
        lane = relax if relax and (not fast or self._picks % RELAX_EVERY == 0) else fast
        order = lane.in_order()
        first = order[0]
        batch = [first]
        limit = min(self.max_batch, first.max_batch or self.max_batch)
        if first.batch_key is not None:
            for candidate in order[1:]:
                if len(batch) >= limit:
                    break
                if candidate.batch_key == first.batch_key:
                    batch.append(candidate)
        for work in batch:  # everyone served in this batch goes to the back of the line
            lane.remove(work)
            lane.served(work.user)
        return batch

    async def _worker(self) -> None:
        free = asyncio.Semaphore(self.slots)
        while True:
            await free.acquire()
            while not self.waiting:
                self._wake.clear()
                await self._wake.wait()
            batch = self._pick()
            self._announce_positions()
            for work in batch:
                self._running[work.job_id] = work
                self._handles[work.job_id]._push(ProgressEvent(work.job_id, "running"))
            task = self._loop.create_task(self._serve(batch), name="lienzo-batch")
            self._batches.add(task)
            task.add_done_callback(lambda t: (self._batches.discard(t), free.release()))

    async def _serve(self, batch: list[Work]) -> None:
        try:
            results = await self._loop.run_in_executor(self._thread, self._run, batch)
        except asyncio.CancelledError:  # stop(): the batch's handles are finished there
            raise
        except BaseException as exc:  # the worker must outlive anything a job does
            log.exception("scheduler: batch of %d failed outside the runner", len(batch))
            results = [exc] * len(batch)
        for work, result in zip(batch, results):
            self._running.pop(work.job_id, None)
            handle = self._handles[work.job_id]
            if isinstance(result, Again):
                handle._push(ProgressEvent(work.job_id, "turn", data=result.value))
                if work.job_id in self._cancelled or self.stopping:
                    self._cancelled.discard(work.job_id)
                    handle._finish(error=Cancelled("cancelled"))
                else:  # behind its user's other jobs: their image asked for mid-lesson comes first
                    self._lanes[work.lane if work.lane in self._lanes else "fast"].push(work)
                    self._wake.set()
                continue
            if work.job_id in self._cancelled and not isinstance(result, BaseException):
                result = Cancelled("cancelled")
            self._cancelled.discard(work.job_id)
            if isinstance(result, BaseException):
                handle._finish(error=result)
            else:
                handle._finish(result)
        self._announce_positions()

    def _run(self, batch: list[Work]) -> list[Any]:
        """On the device thread: run the batch; if it fails as a whole, run each job alone."""
        loop = self._loop

        def report(event: ProgressEvent) -> None:
            handle = self._handles.get(event.job_id)
            if handle is not None:
                loop.call_soon_threadsafe(handle._push, event)

        def cancelled(job_id: str) -> bool:
            return job_id in self._cancelled

        try:
            results = self.runner(batch, report, cancelled)
        except Exception as exc:
            if len(batch) == 1:
                return [_as_error(exc)]
            log.warning("batch of %d failed (%s); running each job alone", len(batch), exc)
            results = []
            for work in batch:
                try:
                    results += self.runner([work], report, cancelled)
                except Exception as solo:
                    results.append(_as_error(solo))
        return [_as_error(r) if isinstance(r, Exception) else r for r in results]


def _as_error(exc: BaseException) -> BaseException:
    if isinstance(exc, LienzoError):
        return exc
    log.error("job failed", exc_info=exc)
    return JobFailed(f"the model failed on this job ({str(exc).splitlines()[0][:300] if str(exc) else 'no details'})")
