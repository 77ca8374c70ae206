"""How many CPU threads torch gets: the cores nobody else is using, chosen again at each batch.

On cores shared with other work (a free Space, a laptop, this project's CI machines) torch's default of one
OpenMP thread per core collapses: each parallel region waits for its slowest thread, and a thread that shares a
core with a busy process is slow every time. On 2 cores beside one busy process a mini grid took 4.4× its quiet
time with 2 threads and 1.1× with 1 (docs/BENCHMARKS.md). So, unless LIENZO_THREADS fixes the count, each batch
starts by counting the runnable threads that are not this process's (the kernel's `procs_running`, less our own
threads in state R) and takes the cores that are left, at least one.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup CPU quota (containers, Spaces)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def _own_running() -> int:
    running = 0
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        running += stat[stat.rindex(")") + 2] == "R"  # the state follows the command name, which may hold spaces
    return running


def others_running(readings: int = 5, gap_s: float = 0.0005) -> int | None:
    """Threads runnable on this machine now that are not ours (None where /proc cannot say: not Linux).

    The smallest of a few readings a fraction of a millisecond apart, each less the most of our own threads
    seen running just before or after it: the event loop finishing the previous job, or torch's OpenMP workers
    spinning a moment after their last region, are ours even when they stop between the two reads."""
    try:
        seen = []
        for i in range(readings):
            before = _own_running()
            stat = Path("/proc/stat").read_text()
            after = _own_running()
            running = int(next(line.split()[1] for line in stat.splitlines() if line.startswith("procs_running")))
            seen.append(max(0, running - max(before, after)))
            if not seen[-1]:  # nothing else runnable: no later reading can show fewer
                return 0
            if i + 1 < readings:
                time.sleep(gap_s)
        return min(seen)
    except (OSError, StopIteration, ValueError):
        return None


def fair_threads(cores: int, host_cpus: int, others: int | None) -> int:
    """The threads to use: of the machine's `host_cpus`, those `others` leave free, within our `cores`."""
    if others is None:
        return cores
    return max(1, min(cores, host_cpus - others))


def choose(fixed: int | None = None) -> int:
    if fixed:
        return fixed
    return fair_threads(usable_cores(), os.cpu_count() or 1, others_running())


def apply(fixed: int | None = None) -> int:
    """Set torch's intra-op threads for the batch about to run; returns the count."""
    import torch  # here, not at the top: the Hub's modules load without torch until a model runs

    n = choose(fixed)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
