"""A local stand-in for ZeroGPU's `spaces.GPU`, keeping the contract of the real one for generator functions
(the `spaces` package 0.51.3, spaces/zero/wrappers.py, generator_function_wrapper), minus the GPU:

- `duration` is a number or a callable given the call's own arguments; a call longer than the visitor's
  remaining quota is refused before anything runs (ZeroGPU's scheduler does this);
- the function runs in a worker process made with multiprocessing.get_context("fork"), kept and reused
  while it is alive and idle (state the main process had before the fork, e.g. loaded models, is there);
- the arguments go to the worker through a pickling queue as ((args, kwargs), context): anything that does
  not pickle fails the call in the caller, as PicklingError does there;
- every value the generator yields is pickled back as it happens; an exception in the worker comes back as
  an error naming only its class (the real one raises gr.Error("ZeroGPU worker error", <class name>));
- when the caller closes its generator early, a stop event is set, and the worker closes the function's
  generator after its current `next()` (that is how a cancel reaches the worker);
- a worker that dies mid-call gives "GPU task aborted", and the next call forks a fresh worker.
"""

from __future__ import annotations

import inspect
import multiprocessing
import pickle
import threading
import traceback
from dataclasses import dataclass, field

CTX = multiprocessing.get_context("fork")


class ZeroGPUError(Exception):
    pass


@dataclass
class _Ok:
    value: object


@dataclass
class _Error:
    error_cls: str
    traceback: str


class _End:
    pass


def _serve(fn, arg_queue, res_queue, stop_event):
    """The worker process: one call at a time, as thread_wrapper/iterate do in wrappers.py."""
    while True:
        try:
            (args, kwargs), _context = arg_queue.get()
        except (OSError, EOFError):
            break
        stop_event.clear()
        gen = fn(*args, **kwargs)
        while True:
            try:
                res = next(gen)
            except StopIteration:
                break
            except Exception as e:  # noqa: BLE001 (the real worker forwards every exception this way)
                res_queue.put(_Error(type(e).__name__, "".join(traceback.format_exception(e))))
                break
            if stop_event.is_set():
                gen.close()
                break
            try:
                res_queue.put(_Ok(res))
            except pickle.PicklingError as e:
                res_queue.put(_Error(type(e).__name__, str(e)))
                break
        res_queue.put(_End())


@dataclass
class ZeroGPU:
    """One Space's ZeroGPU: `zero.GPU` is the decorator; `durations` what each call declared; `quota_s` what the
    visitor has left."""

    quota_s: float = 300.0
    durations: list = field(default_factory=list)
    forks: int = 0
    process: object = None  # the worker process of the latest call

    def GPU(self, task=None, *, duration=None, size=None):  # noqa: N802 (the real name)
        if task is None:
            return lambda fn: self.GPU(fn, duration=duration, size=size)
        if not inspect.isgeneratorfunction(task):
            raise NotImplementedError("this stand-in keeps only the generator contract (what Lienzo uses)")
        zero = self
        worker: dict = {}
        lock = threading.Lock()

        def handler(*args, **kwargs):
            seconds = duration(*args, **kwargs) if callable(duration) else (duration or 60)
            zero.durations.append(seconds)
            if seconds > zero.quota_s:
                raise ZeroGPUError(f"You have exceeded your GPU quota ({zero.quota_s:.0f}s left, {seconds}s asked)")
            with lock:
                proc = worker.get("process")
                if proc is None or not proc.is_alive():
                    arg_q, res_q, stop = CTX.SimpleQueue(), CTX.SimpleQueue(), CTX.Event()
                    proc = CTX.Process(target=_serve, args=(task, arg_q, res_q, stop), daemon=True)
                    proc.start()
                    zero.forks += 1
                    worker.update(process=proc, args=arg_q, results=res_q, stop=stop)
                w = dict(worker)
            # SimpleQueue.put pickles in the caller: a closure, a lock or a handle fails here, as it does there
            w["args"].put(((args, kwargs), None))
            zero.process = w["process"]
            while True:
                res = _get(w["results"], w["process"])
                if res is None:
                    raise ZeroGPUError("GPU task aborted")
                if isinstance(res, _Error):
                    raise ZeroGPUError(f"ZeroGPU worker error: {res.error_cls}")
                if isinstance(res, _End):
                    return
                try:
                    yield res.value
                except GeneratorExit:
                    w["stop"].set()
                    _drain(w["results"], w["process"])
                    raise

        handler.__wrapped__ = task
        return handler


def _get(queue, process):
    """The next result, or None once the worker process is gone (the real one's sentinel thread puts None)."""
    reader = queue._reader
    while True:
        if reader.poll(0.2):
            return queue.get()
        if not process.is_alive():
            return queue.get() if reader.poll(0) else None


def _drain(queue, process) -> None:
    """After a stop, read up to the worker's end marker so the next call starts clean."""
    while (res := _get(queue, process)) is not None and not isinstance(res, _End):
        pass
