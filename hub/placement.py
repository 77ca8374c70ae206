"""Where a batch runs. One interface, three placements, chosen by LIENZO_PLACEMENT:

- `thread` (default): a `Worker` on the Hub's own device thread, called directly (no copies, today's speed).
- `zerogpu`: each batch is one `spaces.GPU` call. ZeroGPU forks a worker process, pickles the arguments
  into it and every value it yields back out; the models were loaded in the main process at start-up,
  which the fork inherits. A cancel is the Hub closing the generator (ZeroGPU then stops the worker's).
- `ray`: one Ray Serve deployment per model (hub/ray_serve.py); a batch streams from a replica.

Every placement has `run(items, emit, should_stop) -> [Output | Failure]`, called on one of the scheduler's
slot threads, and `slots`: how many batches it takes at once. The Hub keeps the queue, fairness and the store.
"""

from __future__ import annotations

import contextvars
import logging
import math
from collections.abc import Callable, Iterator

from hub import catalog
from hub.types import ProgressEvent
from hub.work import Failure, ImageTask, Output, WorkItem
from hub.worker import Emit, ShouldStop, Worker

log = logging.getLogger(__name__)


def consume(
    stream: Iterator,
    items: list[WorkItem],
    emit: Emit,
    should_stop: ShouldStop,
    lost: str = "the worker stopped before this job finished",
) -> list:
    """Read a worker's stream: events to `emit`, outputs kept; closed early once every job is cancelled.
    A job the stream never answered gets a Failure (cancelled, or `lost`)."""
    ids = [item.job_id for item in items]
    got: dict[str, Output | Failure] = {}
    try:
        for message in stream:
            if isinstance(message, ProgressEvent):
                emit(message)
            elif isinstance(message, (Output, Failure)):
                got[message.job_id] = message
            if all(should_stop(i) for i in ids):
                break
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return [
        got.get(i) or (Failure(i, "cancelled", "cancelled") if should_stop(i) else Failure(i, "failed", lost))
        for i in ids
    ]


class ThreadPlacement:
    """The worker on the Hub's device thread: one batch at a time, objects passed as they are."""

    slots = 1

    def __init__(self, worker: Worker):
        self.worker = worker

    def run(self, items: list[WorkItem], emit: Emit, should_stop: ShouldStop, context=None) -> list:
        return self.worker.execute(items, emit, should_stop)

    def close(self) -> None:
        pass


# --- ZeroGPU -------------------------------------------------------------------------------------------
# The function ZeroGPU runs must be reachable in the forked worker: a module-level generator over a
# module-level worker, set in the main process before any fork (models load there, as ZeroGPU asks).
_ZERO_WORKER: Worker | None = None

# seconds a denoising step takes at 512x512 for one image on a ZeroGPU slice (half an H200), by family; the
# estimate only needs the right size: ZeroGPU runs short declared durations first and refuses a call longer
# than the visitor's remaining quota
STEP_SECONDS = {"kandinsky": 0.03, "auto": 0.04}
TOKEN_SECONDS = 0.02
START_SECONDS = 8.0  # a fresh worker, weights moved to the GPU


def zero_gpu_stream(items: list[WorkItem]) -> Iterator:
    """Runs inside ZeroGPU's worker process: plain items in (unpickled), plain messages out (pickled)."""
    if _ZERO_WORKER is None:
        raise RuntimeError("the ZeroGPU worker was not set up in the main process before the fork")
    yield from _ZERO_WORKER.stream(items)


def estimate_seconds(items: list[WorkItem], cap: float = 120.0) -> int:
    """The duration to declare for one GPU call: steps x pixels x batch, by model family, plus start-up."""
    total = START_SECONDS
    for item in items:
        family = catalog.get(item.model).family
        task = item.task.get("task") if isinstance(item.task, dict) and item.kind == "walkthrough" else item.task
        if isinstance(task, ImageTask):
            megapixels = task.width * task.height * len(task.seeds) / (512 * 512)
            steps = task.num_inference_steps + (task.prior_num_inference_steps * 0.2 if family == "kandinsky" else 0)
            total += STEP_SECONDS.get(family, 0.05) * steps * max(megapixels, 0.25)
        elif isinstance(task, dict) and "max_new_tokens" in task:
            total += TOKEN_SECONDS * task["max_new_tokens"]
        else:
            total += 1.0  # describe, shorten: a few encoder calls
    return int(min(cap, max(5, math.ceil(total))))


class ZeroGPUPlacement:
    """Each batch is one `spaces.GPU` call (a generator, so progress streams out and a close cancels).

    `gpu` is the decorator: `spaces.GPU` on a Space; tests pass a stand-in with ZeroGPU's contract."""

    slots = 1

    def __init__(self, worker: Worker, gpu: Callable, max_seconds: float = 120.0, preload: tuple[str, ...] = ()):
        global _ZERO_WORKER
        for name in preload:  # load (and move to the GPU) now, in the main process
            worker.engine(catalog.get(name))
        _ZERO_WORKER = worker
        self.worker, self.max_seconds = worker, max_seconds
        self.call = gpu(duration=self.duration)(zero_gpu_stream)

    def duration(self, items: list[WorkItem]) -> int:
        return estimate_seconds(items, self.max_seconds)

    def run(self, items: list[WorkItem], emit: Emit, should_stop: ShouldStop, context=None) -> list:
        plain = [item.plain() for item in items]
        for attempt in (1, 2):
            # ZeroGPU charges the visitor whose Gradio request is in the context: the one who submitted the batch
            ctx = (context or contextvars.Context()).copy()
            try:
                return ctx.run(
                    lambda: consume(
                        self.call(plain),
                        items,
                        emit,
                        should_stop,
                        lost="the GPU worker stopped before this job finished",
                    )
                )
            except Exception as exc:  # the worker never raises: this is ZeroGPU (quota, an aborted worker ...)
                if "aborted" not in str(exc).lower() or all(should_stop(i.job_id) for i in items):
                    raise
                log.warning("the ZeroGPU worker died during a batch of %d (attempt %d)", len(items), attempt)
        return [
            Failure(
                i.job_id,
                "failed",
                "the GPU worker running this job stopped twice (GPU task aborted); it was not tried again",
            )
            for i in items
        ]

    def close(self) -> None:
        pass
