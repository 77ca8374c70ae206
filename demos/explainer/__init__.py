"""Tiny live models for the explainer tab: one file each, plain PyTorch on a CPU."""


def frame_due(step: int, every: int, total: int) -> bool:
    """Whether training step `step` (1-based) of `total` yields a frame: the first step, so the learner sees
    something at once, then every `every` steps, and the last."""
    return step == 1 or step % every == 0 or step == total
