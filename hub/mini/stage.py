"""Resumable training stages for `lienzo train-mini`: a checkpoint every n steps, a progress bar, a done mark."""

from __future__ import annotations

import math
import random
import time
from pathlib import Path

import torch
from tqdm import tqdm


class Stage:
    def __init__(
        self, work: Path, name: str, modules: dict, opt: torch.optim.Optimizer, steps: int, every: int, extra=None
    ):
        self.path, self.done_path = work / f"{name}.pt", work / f"{name}.done"
        self.name, self.modules, self.opt, self.steps, self.every = name, modules, opt, steps, every
        self.extra = extra  # () -> dict of more state to checkpoint (e.g. the EMA weights)
        self.step = 0
        self.state: dict = {}
        if self.path.exists():
            state = self.state = torch.load(self.path, weights_only=False)
            for k, m in modules.items():
                m.load_state_dict(state[k])
            opt.load_state_dict(state["opt"])
            self.step = state["step"]
            random.setstate(state["py_rng"])
            torch.set_rng_state(state["torch_rng"])

    @property
    def finished(self) -> bool:
        return self.done_path.exists()

    def save(self) -> None:
        state = {k: m.state_dict() for k, m in self.modules.items()}
        state.update(
            opt=self.opt.state_dict(),
            step=self.step,
            py_rng=random.getstate(),
            torch_rng=torch.get_rng_state(),
            **(self.extra() if self.extra else {}),
        )
        tmp = self.path.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(self.path)

    def loop(self):
        bar = tqdm(total=self.steps, initial=self.step, desc=self.name, unit="step", dynamic_ncols=True)
        while self.step < self.steps:
            yield self.step
            self.step += 1
            bar.update(1)
            if self.step % self.every == 0 or self.step == self.steps:
                self.save()
        bar.close()
        self.done_path.write_text(time.strftime("%Y-%m-%d %H:%M:%S"))


def cosine_lr(opt, step: int, total: int, base: float, warmup: int = 100) -> None:
    lr = base * min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / total)))
    for g in opt.param_groups:
        g["lr"] = lr
