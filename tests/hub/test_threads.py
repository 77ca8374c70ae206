"""The thread policy (hub/threads.py): the cores other work leaves free, read from the real kernel."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from hub import threads
from hub.bench import BUSY
from tests.conftest import run


@pytest.mark.parametrize(
    "cores, host, others, expected",
    [
        (2, 2, 0, 2),  # quiet two-core machine: both
        (2, 2, 1, 1),  # one busy process beside us: the core it leaves
        (2, 2, 5, 1),  # swamped: never fewer than one
        (2, 16, 10, 2),  # a 2-core container on a busy 16-core host: the host has room, the quota caps
        (8, 8, 3, 5),
        (4, 4, None, 4),  # no /proc to read: every usable core
    ],
)
def test_fair_threads(cores, host, others, expected):
    assert threads.fair_threads(cores, host, others) == expected


def test_a_busy_process_counts_as_other_work():
    """Read from /proc as the worker does at each batch: a busy child, paused and resumed in turn, shows in the
    count when it runs (whatever else the machine is running meanwhile)."""
    busy = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        deadline, seen = time.monotonic() + 60, False
        while not seen and time.monotonic() < deadline:  # until one pair of readings shows it, whatever else runs
            os.kill(busy.pid, signal.SIGSTOP)
            paused = threads.others_running()
            os.kill(busy.pid, signal.SIGCONT)
            seen = threads.others_running() > paused
        assert seen
    finally:
        busy.kill()
        busy.wait()


def test_the_worker_sets_torch_threads_at_each_batch(settings):
    """On the device thread, where the batch runs: torch's OpenMP thread count is per calling thread."""
    from hub.service import Hub
    from hub.types import ImagineRequest

    async def main():
        hub = Hub.create(settings.with_(threads=1))
        await hub.scheduler.run_sync(torch.set_num_threads, 2)
        await (await hub.imagine(ImagineRequest("a red circle", model="mini", num_inference_steps=2))).result()
        seen = await hub.scheduler.run_sync(torch.get_num_threads)
        await hub.close()
        return seen

    assert run(main()) == 1
