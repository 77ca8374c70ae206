"""The `ray` placement: one Ray Serve deployment per model, its replicas on the cluster's GPU boxes.

The Hub (in the web/bot process) keeps the queue, fairness, caps and the store; it hands each batch to the
deployment of the batch's model (model affinity: a replica keeps its model loaded) and streams the replica's
progress events and outputs back. Plain data only crosses, as with every placement (hub/work.py).

    lienzo serve --ray auto          # this box joined a cluster (`ray start --address=HEAD:6379`)
    lienzo serve --ray HEAD:6379     # a cluster's head
    lienzo serve --ray local         # start a local Ray instance (one box, several replicas)

A replica that dies mid-batch (a crashed box, an OOM kill, `ray.kill`) fails the stream; the batch is sent
once more, to whichever replica Serve picks (Serve restarts the dead one), and fails with a clear message if
that dies too. Nothing else is touched: other batches run on other replicas.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator

from hub import catalog
from hub.placement import consume
from hub.settings import Settings
from hub.types import ProgressEvent
from hub.work import Failure, WorkItem
from hub.worker import Emit, ShouldStop, Worker

log = logging.getLogger(__name__)
APP_PREFIX = "lienzo-"
# Ray starts its worker processes at niceness 15 (its `worker_niceness`) to keep its own daemons responsive. Serve's
# controller and replicas are such workers, and a replica is the Hub's whole worker: beside two CPU-bound processes
# at niceness 0 each got a few percent of a core, and Serve took 278 s instead of 9 to start two replicas of the mini
# on 2 cores (docs/BENCHMARKS.md, session 33). Unniced they share the cores as the Hub's own worker thread does. The
# setting rides in the runtime environment, as Ray's own job supervisor sets it, so a cluster's `ray start` needs no
# flag: the Hub's driver job carries it (Serve's controller, started from it, inherits it) and so does each replica.
UNNICED = {"env_vars": {"RAY_worker_niceness": "0"}}
_END = object()


class LienzoReplica:
    """A Serve replica: a Worker with its model loaded at start-up; `run` streams a batch's messages."""

    def __init__(self, settings: Settings, model: str):
        from ray import serve

        self.worker = Worker(settings)  # which sets torch's threads at each batch (hub/threads.py)
        self.worker.engine(catalog.get(model))  # load now, not on the first job
        self.replica = serve.get_replica_context().replica_id.unique_id

    async def run(self, items: list[WorkItem]):
        yield ProgressEvent(items[0].job_id, "running", message=f"replica {self.replica}")
        messages = self.worker.stream(items)
        try:
            while (message := await asyncio.to_thread(next, messages, _END)) is not _END:
                yield message
        finally:  # finished, or the caller cancelled: stop the batch at its next step
            await asyncio.to_thread(messages.close)


class RayPlacement:
    def __init__(self, settings: Settings):
        import ray

        self.settings = settings
        if not ray.is_initialized():
            ray.init(
                address=settings.ray_address,
                include_dashboard=False,
                log_to_driver=False,
                ignore_reinit_error=True,
                runtime_env=UNNICED,
            )
        self.slots = settings.ray_replicas  # batches in flight: one a replica
        self._handles: dict = {}
        self._lock = threading.Lock()
        for name in settings.preload:
            self.handle(name)

    def deployment(self, model: str):
        """The model's Serve application (replicas, GPUs and CPUs a replica, autoscaling from the settings)."""
        from ray import serve

        s = self.settings
        options = {
            "ray_actor_options": {
                "num_gpus": s.ray_gpus,
                "num_cpus": s.ray_cpus,
                "runtime_env": UNNICED,  # also where Ray was started by another driver
            },
            "name": f"{APP_PREFIX}{model}",
            "max_ongoing_requests": 2,
        }
        if s.ray_min_replicas is not None:
            options["autoscaling_config"] = {
                "min_replicas": s.ray_min_replicas,
                "max_replicas": s.ray_replicas,
                "target_ongoing_requests": 1,
            }
        else:
            options["num_replicas"] = s.ray_replicas
        return serve.deployment(LienzoReplica).options(**options).bind(s, model)

    def handle(self, model: str):
        from ray import serve

        with self._lock:
            if model not in self._handles:
                if not self._handles:
                    # The Hub calls its deployments through handles only, so Serve needs no HTTP or gRPC proxy (Ray's
                    # ProxyLocation.Disabled, "if you are only making calls to your applications via deployment
                    # handles"): one actor fewer a node to start, and no port opened. A cluster whose Serve already
                    # runs keeps its own settings.
                    serve.start(proxy_location="Disabled")
                log.info("deploying %s on Ray Serve (%d replica(s))", model, self.settings.ray_replicas)
                self._handles[model] = serve.run(self.deployment(model), name=f"{APP_PREFIX}{model}", route_prefix=None)
            return self._handles[model]

    def run(self, items: list[WorkItem], emit: Emit, should_stop: ShouldStop, context=None) -> list:
        from ray.exceptions import RayError

        handle = self.handle(items[0].model).options(stream=True)
        plain = [item.plain() for item in items]
        for attempt in (1, 2):
            try:
                return consume(_cancelling(handle.run.remote(plain)), items, emit, should_stop)
            except RayError as exc:
                log.warning(
                    "a replica stopped during a batch of %d (attempt %d): %s", len(items), attempt, type(exc).__name__
                )
                if all(should_stop(i.job_id) for i in items):
                    return [Failure(i.job_id, "cancelled", "cancelled") for i in items]
        return [
            Failure(
                i.job_id,
                "failed",
                "the worker running this job stopped twice (its machine or process died); it was not tried again",
            )
            for i in items
        ]

    def close(self) -> None:
        pass  # the deployments belong to the cluster; `serve shutdown` removes them


def _cancelling(response) -> Iterator:
    """A Serve response stream as a generator whose close() cancels the request (and so the replica's batch)."""
    finished = False
    try:
        for message in response:
            yield message
        finished = True
    finally:
        if not finished:
            response.cancel()
