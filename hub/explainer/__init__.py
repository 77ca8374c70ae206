"""The Learn tab's teaching models: tiny live models (GAN, VAE, char LSTM/transformer, PixelCNN, WaveNet, 2-D
diffusion), one file each, plain PyTorch on a CPU, and the bilingual lesson texts.

Front ends never import the model files (they import torch); they call `Hub.lesson`, which runs
`lessons.start` on the device thread and streams plain frames. `presets`, `toy2d` and this package are light.
"""

from pathlib import Path

TEXTS = Path(__file__).resolve().parent / "texts"  # texts/<lang>/<topic>.md: the tabs, the tutor, the bot


def frame_due(step: int, every: int, total: int) -> bool:
    """Whether training step `step` (1-based) of `total` yields a frame: the first step, so the learner sees
    something at once, then every `every` steps, and the last."""
    return step == 1 or step % every == 0 or step == total
