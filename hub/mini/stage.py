"""Resumable training stages for `lienzo train-mini`: a checkpoint every n steps, a progress bar, a done mark."""

from __future__ import annotations

import math
import random
import time
from pathlib import Path

import torch
from tqdm import tqdm


def save_atomic(obj, path: Path) -> None:
    """torch.save through a temporary file, so a stop mid-write leaves the last good file, never half of one."""
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


MIN_BUCKET = 4  # scenes a bucket keeps in a pool too small to share out by the quantum (a smoke run's)


def bucket_share(total: int, weight: float, quantum: int) -> int:
    """How many of a pool's `total` scenes one aspect bucket of `weight` keeps: a multiple of `quantum`, as the
    recipe's pools are; a pool too small for that (a smoke run's) keeps its plain share, at least MIN_BUCKET, so a
    plumbing check encodes tens of scenes, not a quantum for each of the 13 buckets."""
    share = total * weight
    if share >= quantum:
        return round(share / quantum) * quantum
    return max(MIN_BUCKET, math.ceil(share))


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
            state = self.state = torch.load(self.path, weights_only=False, map_location="cpu")
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
        save_atomic(state, self.path)

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


def optimise(opt: torch.optim.Optimizer, model: torch.nn.Module, loss: torch.Tensor, ema=None) -> None:
    """One step of the stages' optimiser: gradients clipped to norm 1, then the EMA (if any) follows."""
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if ema is not None:
        ema.step(model.parameters())


def cosine_lr(opt, step: int, total: int, base: float, warmup: int = 100) -> None:
    lr = base * min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / total)))
    for g in opt.param_groups:
        g["lr"] = lr


def prefetch(fn, start: int, stop: int, workers: int = 0):
    """fn(step) for step in [start, stop), in order: inline with `workers` 0 (the 2-core recipe: a worker would
    only take a core from torch), else built ahead by that many processes. `fn` must be a picklable, pure function
    of the step (its own seeded RNG), so the batches are the same whatever the worker count or resume point."""
    if not workers:
        for step in range(start, stop):
            yield fn(step)
        return
    import multiprocessing as mp
    import os

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # spawn, not fork: a child forked from a parent that has run torch's OpenMP threads can hang in its first op
    with mp.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(fn, range(start, stop), chunksize=2)


def default_workers(device) -> int:
    """Data workers for a training stage: none on the CPU, most of the cores beside a GPU (LIENZO_TRAIN_WORKERS
    overrides)."""
    import os

    if os.environ.get("LIENZO_TRAIN_WORKERS", "").isdigit():
        return int(os.environ["LIENZO_TRAIN_WORKERS"])
    if str(device).startswith("cpu"):
        return 0
    return max(0, min(8, (os.cpu_count() or 1) - 2))


class BucketPool:
    """Scenes encoded once as (MoVQ latents, CLIP image embeddings[, anything more per scene]), one pool per
    aspect-ratio bucket.

    `draw` picks a bucket by weight (Python's seeded `random`) and a batch from it (torch's CPU generator), so the
    same recipe draws the same numbers on any device; it gives the latents as float and every other tensor as kept."""

    def __init__(self, pools: dict[tuple[int, int], tuple[torch.Tensor, ...]], weights: dict, device="cpu"):
        self.pools = {b: tuple(t.to(device) for t in kept) for b, kept in pools.items()}
        self.buckets = list(self.pools)
        self.weights = [weights[b] for b in self.buckets]
        self.device = device

    def draw(self, batch: int) -> tuple[torch.Tensor, ...]:
        z, *rest = self.pools[random.choices(self.buckets, self.weights)[0]]
        i = torch.randint(0, len(z), (batch,)).to(self.device)
        return (z[i].float(), *(t[i].clone() for t in rest))
