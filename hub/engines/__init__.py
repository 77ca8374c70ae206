"""One file per pipeline family, behind two declared protocols, built through one family -> engine table.

Engines receive loaded components (hub/loading.py) and run on the device's worker thread (hub/worker.py).
This module imports no torch: each family's engine module is imported when its first model is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PIL import Image

    from hub.catalog import ModelSpec
    from hub.engines.common import Progress
    from hub.loading import Loader
    from hub.work import ImageTask


@runtime_checkable
class ImageEngine(Protocol):
    """Draws images: a batch of compatible tasks in, each task's images out (in the tasks' order)."""

    notes: tuple[str, ...]  # what the user should know about these weights (an untrained placeholder, say)
    model_hash: str | None  # A1111's short hash of the weights (hub/engines/common.py: weights_hash)

    @property
    def size_multiple(self) -> int:
        """Widths and heights are snapped to a multiple of this."""

    @property
    def sampler(self) -> str:
        """The diffusers scheduler class a request's "default" runs."""

    @property
    def tokenizer(self) -> Any:
        """The tokenizer of the text encoder that reads the prompt."""

    def generate(
        self, tasks: list[ImageTask], progress: Progress | None = None, should_stop: Callable[[], bool] = ...
    ) -> list[list[Image.Image]]: ...


@runtime_checkable
class TextEngine(Protocol):
    """Writes text: a chat turn, or a short prompt expanded into a scene, streamed through `on_text`."""

    notes: tuple[str, ...]

    def generate(
        self,
        messages: list[dict],
        max_new_tokens: int = ...,
        temperature: float = ...,
        seed: int | None = ...,
        on_text: Callable[[str], None] | None = ...,
        should_stop: Callable[[], bool] = ...,
    ) -> str: ...

    def expand(
        self,
        prompt: str,
        max_new_tokens: int = ...,
        seed: int | None = ...,
        on_text: Callable[[str], None] | None = ...,
        should_stop: Callable[[], bool] = ...,
    ) -> str: ...


def _kandinsky(spec: ModelSpec, loader: Loader, preview_every: int) -> ImageEngine:
    from hub.engines.common import weights_hash
    from hub.engines.kandinsky import KandinskyEngine

    weights = loader.kandinsky(spec)
    engine = KandinskyEngine(
        weights.prior,
        weights.decoder,
        loader.placement,
        preview_every,
        draft=weights.draft,
        inpaint=weights.inpaint,
        fast_vae=weights.fast_vae,
    )
    engine.notes = tuple(weights.notes)
    engine.model_hash = weights_hash(engine.decoder.unet)
    return engine


def _auto(spec: ModelSpec, loader: Loader, preview_every: int) -> ImageEngine:
    from hub.engines.common import weights_hash
    from hub.engines.stable_diffusion import StableDiffusionEngine

    engine = StableDiffusionEngine(loader.auto_pipeline(spec), loader.placement, preview_every)
    engine.notes = ()
    engine.model_hash = weights_hash(engine.text2img.unet)
    return engine


def _text(spec: ModelSpec, loader: Loader, preview_every: int) -> TextEngine:
    from hub.engines.text import TextEngine as Engine

    engine = Engine(*loader.text(spec), loader.placement)
    engine.notes = ()
    return engine


# family (hub/catalog.py's ModelSpec.family) -> (what it builds, the protocol it keeps, what it can do at most)
FAMILIES: dict[str, tuple[Callable[[ModelSpec, Loader, int], Any], type, frozenset[str]]] = {
    "kandinsky": (
        _kandinsky,
        ImageEngine,
        frozenset({"text2img", "mix", "variation", "img2img", "caption", "inpaint"}),
    ),
    "auto": (_auto, ImageEngine, frozenset({"text2img", "img2img", "inpaint"})),
    "text": (_text, TextEngine, frozenset({"chat", "expand"})),
}


def build(spec: ModelSpec, loader: Loader, preview_every: int) -> ImageEngine | TextEngine:
    from hub.loading import quiet

    make, protocol, _ = FAMILIES[spec.family]
    with quiet():  # the engines' first import of diffusers' pipelines reaches transformers' image processor
        engine = make(spec, loader, preview_every)
    if not isinstance(engine, protocol):  # a family's engine that lost a method fails here, not mid-job
        raise TypeError(f"the {spec.family} engine does not keep the {protocol.__name__} protocol")
    return engine
