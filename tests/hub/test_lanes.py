"""Lanes (hub/lanes.py): a CPU batch cut into parts that run side by side, one torch thread each."""

import threading
from dataclasses import dataclass

import pytest
import torch
from diffusers.utils import BaseOutput

from hub import lanes


@dataclass
class Out(BaseOutput):
    sample: torch.Tensor
    loss: torch.Tensor | None = None


class Net(torch.nn.Module):
    """Convolutions on a batch with a per-row embedding in a nested dict and a step shared by every row; notes
    which thread ran each call, with how many torch threads and in which grad mode."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(4, 8, 3, padding=1)
        self.proj = torch.nn.Linear(16, 8)
        self.calls: list[tuple[str, int, int, bool]] = []

    def forward(self, x, t, cond=None, return_dict=True):
        self.calls.append(
            (threading.current_thread().name, x.shape[0], torch.get_num_threads(), torch.is_grad_enabled())
        )
        y = self.conv(x) * t + self.proj(cond["emb"])[:, :, None, None]
        return Out(sample=y) if return_dict else (y,)


def inputs(rows=8):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(rows, 4, 16, 16, generator=g)
    return x, torch.tensor(0.5), {"emb": torch.randn(rows, 16, generator=g)}


@pytest.fixture
def two_threads():
    before, mode = torch.get_num_threads(), lanes.mode
    torch.set_num_threads(2)
    yield
    lanes.set_mode(mode)
    torch.set_num_threads(before)


def test_lanes_give_the_whole_calls_answer_from_two_threads_of_one_torch_thread_each(two_threads):
    net = Net()
    x, t, cond = inputs()
    with torch.no_grad():
        whole = net(x, t, cond=cond).sample
        lanes.wrap(net, "forward")
        lanes.wrap(net, "forward")  # wrapping twice wraps once
        lanes.set_mode("auto")
        net.calls.clear()
        out = net(x, t, cond=cond)
        tup = net(x, t, cond=cond, return_dict=False)
        again = net(x, t, cond=cond).sample
    assert isinstance(out, Out) and out.loss is None and isinstance(tup, tuple)
    torch.testing.assert_close(out.sample, whole)
    torch.testing.assert_close(tup[0], whole)
    assert torch.equal(again, out.sample)  # one rule, so the same call twice gives the same numbers
    first = net.calls[:2]
    assert sorted(rows for _, rows, _, _ in first) == [4, 4]
    assert len({name for name, _, _, _ in first}) == 2  # side by side, on two threads
    assert all(n == 1 and not grad for _, _, n, grad in first)  # one torch thread each, the caller's no_grad
    assert torch.get_num_threads() == 2  # given back
    assert not getattr(net.forward.__wrapped__, "_lanes", False)  # wrapped once


def test_nothing_is_split_on_one_thread_too_few_rows_or_with_lanes_off(two_threads):
    net = Net()
    lanes.wrap(net, "forward")
    lanes.set_mode("auto")
    with torch.no_grad():
        net(*inputs(rows=3)[:2], cond=inputs(rows=3)[2])  # fewer than 2 rows a lane
        lanes.set_mode("off")
        net(*inputs()[:2], cond=inputs()[2])
        lanes.set_mode("auto")
        torch.set_num_threads(1)
        net(*inputs()[:2], cond=inputs()[2])
    assert [rows for _, rows, _, _ in net.calls] == [3, 8, 8]
