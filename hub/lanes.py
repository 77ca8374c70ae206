"""Lanes: one batched call on the CPU split into parts that run side by side, each on one torch thread.

torch parallelises a CPU operator across its intra-op threads, with a barrier at the end of each. The mini's UNet
runs a few hundred small operators a call, so two threads wait for each other a few hundred times; on cores shared
with another process one of them is often late. Lanes meet once a call instead. Beside one busy process on 2 cores,
with torch fixed at 2 threads, a grid took 1.71x its quiet time as lanes and 3.46x whole; quiet, lanes are 2-3%
faster (docs/BENCHMARKS.md, session 28). hub/threads.py already takes one thread when it sees a busy process at a
batch's start; lanes cover load that starts mid-batch, a thread count fixed by the host, and the rest.

So the calls wrapped here (`wrap`: the UNets and the image decoders, where they run on a CPU) are cut into n lanes
when torch has n >= 2 threads and the batch has at least MIN_ROWS rows a lane. The rule is fixed rather than timed
at run time, so one request drawn twice gives the same pixels; a row's last bits can differ from the whole call's,
as they already do when the scheduler batches several users' jobs. One torch thread (LIENZO_THREADS=1, or a busy
machine) splits nothing; LIENZO_LANES=off keeps every call whole. The prior is not wrapped: its calls are mostly
Python, and two lanes of it take turns at the GIL (no steady gain at 16 rows: 15.7-19.9 ms against 16.8-17.3).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

MODES = ("auto", "off")
MIN_ROWS = 2  # rows a lane gets at the least

mode = "auto"
split_calls = 0  # calls run as lanes, all shapes together
_lock = threading.Lock()
_pool: tuple[int, int, ThreadPoolExecutor] | None = None  # (pid, workers, pool): a forked child makes its own


def set_mode(value: str) -> None:
    global mode
    if value not in MODES:
        raise ValueError(f"lanes mode {value!r}: use one of {', '.join(MODES)}")
    mode = value


def wrap(obj: Any, method: str) -> None:
    """Replace `obj.method` (e.g. a UNet's forward, a VAE's decode) with one that may run as lanes."""
    inner = getattr(obj, method)
    if getattr(inner, "_lanes", False):
        return

    def call(*args, **kwargs):
        return run(inner, args, kwargs)

    call._lanes = True  # type: ignore[attr-defined]
    call.__wrapped__ = inner  # type: ignore[attr-defined]
    setattr(obj, method, call)


def run(inner: Callable, args: tuple, kwargs: dict):
    """inner(*args, **kwargs), as lanes where the rule above says so."""
    import torch  # here, not at import: hub.worker imports this module, and front ends import the Hub without torch

    n = torch.get_num_threads()
    rows = _rows(args, kwargs)
    if mode == "off" or n < 2 or rows is None or rows < MIN_ROWS * n:
        return inner(*args, **kwargs)
    return _lanes(inner, args, kwargs, rows, n)


def _lanes(inner: Callable, args: tuple, kwargs: dict, rows: int, n: int):
    import torch

    global split_calls
    split_calls += 1
    parts = list(zip(_split(args, rows, n), _split(kwargs, rows, n)))
    grad, inference = torch.is_grad_enabled(), torch.is_inference_mode_enabled()

    def lane(a, k):  # grad and inference modes, and OpenMP's thread count, are per thread: set them here
        if torch.get_num_threads() != 1:
            torch.set_num_threads(1)
        with torch.inference_mode(inference), torch.set_grad_enabled(grad):
            return inner(*a, **k)

    pool = _executor(n)
    torch.set_num_threads(1)
    try:
        futures = [pool.submit(lane, a, k) for a, k in parts[1:]]
        first = lane(*parts[0])  # the calling thread is a lane too
        outs = [first] + [f.result() for f in futures]
    finally:
        torch.set_num_threads(n)
    return _join(outs)


def _executor(n: int) -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None or _pool[0] != os.getpid() or _pool[1] < n - 1:
            _pool = (os.getpid(), n - 1, ThreadPoolExecutor(n - 1, thread_name_prefix="lienzo-lane"))
        return _pool[2]


def _tensors(value):
    import torch

    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _tensors(v)


def _rows(args: tuple, kwargs: dict) -> int | None:
    """The batch size: the first tensor argument's first dimension; None where it has none or is not on a CPU."""
    first = next(_tensors((args, kwargs)), None)
    if first is None or first.dim() == 0 or first.device.type != "cpu":
        return None
    return first.shape[0]


def _split(value, rows: int, n: int) -> list:
    """value's n shares, one a lane: tensors with `rows` rows are cut once, everything else is passed whole."""
    import torch

    if isinstance(value, torch.Tensor):
        return list(value.tensor_split(n)) if value.dim() > 0 and value.shape[0] == rows else [value] * n
    if isinstance(value, dict):
        shares = {k: _split(v, rows, n) for k, v in value.items()}
        return [type(value)({k: parts[i] for k, parts in shares.items()}) for i in range(n)]
    if isinstance(value, (list, tuple)):
        shares = [_split(v, rows, n) for v in value]
        return [type(value)(parts[i] for parts in shares) for i in range(n)]
    return [value] * n


def _join(outs: list):
    import torch

    first = outs[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(outs) if first.dim() > 0 else first
    if isinstance(first, dict):  # diffusers' outputs (BaseOutput) are dataclasses over an OrderedDict
        joined = {k: _join([o[k] for o in outs]) for k in first}
        return type(first)(**joined)
    if isinstance(first, (list, tuple)):
        return type(first)(_join(list(parts)) for parts in zip(*outs))
    return first
