"""The one place that calls `from_pretrained`: where weights come from, dtype, device, offload.

Offline-aware: with HF_HUB_OFFLINE=1, LIENZO_OFFLINE=1 or the Hub unreachable, a model that is
not bundled and not in the local cache fails fast with `ModelUnavailable`, before any download.
"""

from __future__ import annotations

import logging
import socket
from contextlib import contextmanager
import threading
from dataclasses import dataclass
from functools import cache, cached_property, partial
from pathlib import Path
from typing import Any

from hub import catalog
from hub.errors import ModelUnavailable
from hub.settings import Settings

log = logging.getLogger(__name__)


@contextmanager
def quiet(diffusers_too: bool = False):
    """Warnings a user can do nothing about kept out of the log while loading: transformers' (e.g.
    "CLIPImageProcessor requires torchvision"), and with `diffusers_too` diffusers' (AutoencoderTiny calls a key
    of its own saved config unexpected). Our own progress is what users see, so their progress bars are off too."""
    import diffusers
    import transformers

    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()
    levels = diffusers.utils.logging.get_verbosity(), transformers.utils.logging.get_verbosity()
    if diffusers_too:
        diffusers.utils.logging.set_verbosity_error()
    transformers.utils.logging.set_verbosity_error()
    try:
        yield
    finally:
        diffusers.utils.logging.set_verbosity(levels[0])
        transformers.utils.logging.set_verbosity(levels[1])


DRAFT_UNET = Path("decoder-draft") / "unet"  # a bundled model's distilled draft decoder (hub/mini/distil.py)
INPAINT_UNET = Path("decoder-inpaint") / "unet"  # a bundled model's inpainting decoder (hub/mini/inpaint.py)
FAST_VAE = Path("vae-fast")  # a bundled model's tiny latent decoder for drafts and previews (hub/mini/fastvae.py)
_placeholder_lock = threading.Lock()


@dataclass(frozen=True)
class Placement:
    device: str  # "cpu", "cuda", "cuda:1", "mps"
    dtype: Any  # a torch.dtype
    offload: str  # none | model | sequential


@dataclass(frozen=True)
class KandinskyWeights:
    prior: dict
    decoder: dict
    notes: tuple[str, ...] = ()
    source: str = ""
    draft: dict | None = None  # the distilled draft decoder: {"unet", "scheduler"} (hub/mini/distil.py)
    # () -> the inpainting decoder's UNet (9 input channels), loaded when the first edit runs; None: the model has none
    inpaint: Any = None
    # the tiny latent decoder (AutoencoderTiny, hub/mini/fastvae.py) for drafts and previews; None: the MoVQ does all
    fast_vae: Any = None


class Loader:
    def __init__(self, settings: Settings):
        self.settings = settings

    # --- where are we -------------------------------------------------------------------------
    @cached_property
    def device(self) -> str:
        import torch  # here, not at import: front ends import the Hub without torch

        want = self.settings.device
        if want == "auto":
            if torch.cuda.is_available():
                return "cuda"
            if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
                return "mps"
            return "cpu"
        if want.startswith("cuda") and not torch.cuda.is_available():
            raise ModelUnavailable(
                f"LIENZO_DEVICE={want} but torch sees no CUDA GPU (is the CUDA build of torch installed?)"
            )
        return want

    @cached_property
    def gpu_gib(self) -> float | None:
        if not self.device.startswith("cuda"):
            return None
        import torch

        index = int(self.device.split(":")[1]) if ":" in self.device else 0
        return torch.cuda.get_device_properties(index).total_memory / 2**30

    @cached_property
    def offline(self) -> bool:
        if self.settings.offline is not None:
            return self.settings.offline
        try:  # one quick probe per process; a closed network answers at once or times out in 2 s
            with socket.create_connection(("huggingface.co", 443), timeout=2):
                return False
        except OSError:
            return True

    @cached_property
    def placement(self) -> Placement:
        import torch

        dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}.get(
            self.settings.dtype
        )
        if dtype is None:  # auto; fp16 on a CPU runs ~13x slower, so only on accelerators
            dtype = torch.float16 if self.device != "cpu" else torch.float32
        offload = self.settings.offload
        if offload == "auto":
            offload = "model" if self.gpu_gib is not None and self.gpu_gib < 12 else "none"
        return Placement(self.device, dtype, offload)

    # --- what can run -------------------------------------------------------------------------
    def availability(self, spec: catalog.ModelSpec) -> catalog.Availability:
        return catalog.availability(
            spec,
            gpu_gib=self.gpu_gib,
            offline=self.offline,
            cached=self._cached(spec),
            device=self.settings.device,
            mini_root=self.settings.mini_weights,
        )

    def bundled_path(self, spec: catalog.ModelSpec) -> Path | None:
        return spec.bundled_in(self.settings.mini_weights)

    def _cached(self, spec: catalog.ModelSpec) -> bool:
        if not spec.repos:
            return False
        from huggingface_hub import try_to_load_from_cache

        first = next(iter(spec.repos.values()))
        for filename in ("model_index.json", "config.json"):
            hit = try_to_load_from_cache(first, filename)
            if isinstance(hit, str):
                return True
        return False

    def require(self, spec: catalog.ModelSpec) -> catalog.Availability:
        avail = self.availability(spec)
        if not avail.ok:
            raise ModelUnavailable(f"model {spec.name!r} cannot run here: {avail.reason}")
        return avail

    # --- loading ------------------------------------------------------------------------------
    def _from_pretrained(self, cls, where: str | Path, hush_diffusers: bool = False, **kwargs):
        local = Path(str(where)).exists()
        with quiet(diffusers_too=hush_diffusers):
            try:
                loaded = cls.from_pretrained(str(where), local_files_only=local or self.offline, **kwargs)
            except (OSError, ValueError) as exc:
                hint = "" if local else " (no network or not in the local cache; set HF_HUB_OFFLINE=0 to download)"
                raise ModelUnavailable(f"could not load {where}: {exc}{hint}") from exc
        for part in loaded.components.values() if hasattr(loaded, "components") else (loaded,):  # a pipeline's parts
            one_call_at_a_time(part)
        return loaded

    def kandinsky(self, spec: catalog.ModelSpec) -> KandinskyWeights:
        with quiet():  # the import reaches transformers' CLIPImageProcessor, which warns without torchvision
            from diffusers import KandinskyV22Pipeline, KandinskyV22PriorPipeline

        avail = self.require(spec)
        notes: tuple[str, ...] = ()
        if spec.bundled is not None:
            root = self.bundled_path(spec) if avail.status == "bundled" else self.placeholder_path()
            prior_src, decoder_src = root / "prior", root / "decoder"
            if avail.status == "placeholder":
                notes = (
                    "untrained placeholder: the mini model's trained weights are missing, "
                    "so these images come from random weights",
                )
        else:
            prior_src, decoder_src = spec.repos["prior"], spec.repos["decoder"]
        dtype = self.placement.dtype
        prior = self._from_pretrained(KandinskyV22PriorPipeline, prior_src, dtype=dtype)
        decoder = self._from_pretrained(KandinskyV22Pipeline, decoder_src, dtype=dtype)
        draft = None
        if (folder := self.draft_path(spec)) is not None:
            from diffusers import LCMScheduler, UNet2DConditionModel

            draft = {
                "unet": UNet2DConditionModel.from_pretrained(folder / "unet", torch_dtype=dtype),
                "scheduler": LCMScheduler.from_pretrained(folder / "scheduler"),
            }
        inpaint = fast_vae = None
        if spec.bundled is not None:
            if (root / INPAINT_UNET / "config.json").exists():
                inpaint = partial(self._unet, root / INPAINT_UNET, {})
            if (folder := self.fast_vae_path(spec)) is not None:
                from diffusers import AutoencoderTiny

                fast_vae = self._from_pretrained(AutoencoderTiny, folder, hush_diffusers=True, torch_dtype=dtype)
        elif "inpaint" in spec.repos:
            inpaint = partial(self._unet, spec.repos["inpaint"], {"subfolder": "unet"})
        return KandinskyWeights(
            prior.components,
            decoder.components,
            notes,
            source=str(decoder_src),
            draft=draft,
            inpaint=inpaint,
            fast_vae=fast_vae,
        )

    def _unet(self, where, kwargs: dict):
        from diffusers import UNet2DConditionModel

        return self._from_pretrained(UNet2DConditionModel, where, torch_dtype=self.placement.dtype, **kwargs)

    def draft_path(self, spec: catalog.ModelSpec) -> Path | None:
        """The model's distilled draft decoder (`decoder-draft/`, bundled models only), if it has one."""
        if spec.bundled is None or self.availability(spec).status != "bundled":
            return None
        folder = self.bundled_path(spec) / DRAFT_UNET.parent
        return folder if (folder / DRAFT_UNET.name / "config.json").exists() else None

    def fast_vae_path(self, spec: catalog.ModelSpec) -> Path | None:
        """The model's tiny latent decoder for drafts and previews (`vae-fast/`, hub/mini/fastvae.py), if it has one:
        in a bundled model's folder, or in the untrained stand-in's where the mini's weights are missing."""
        if spec.bundled is None:
            return None
        root = self.bundled_path(spec) if self.availability(spec).status == "bundled" else self.placeholder_path()
        folder = root / FAST_VAE
        return folder if (folder / "config.json").exists() else None

    def can_inpaint(self, spec: catalog.ModelSpec) -> bool:
        """Whether the model's weights can repaint a region: a bundled model needs its `decoder-inpaint/` folder (a
        `train-mini --out` folder from before the inpaint stage has none); the others load theirs on first use."""
        if not spec.can("inpaint"):
            return False
        if spec.bundled is None:
            return True
        avail = self.availability(spec)
        root = self.bundled_path(spec) if avail.status == "bundled" else self.placeholder_path()
        return (root / INPAINT_UNET / "config.json").exists()

    def auto_pipeline(self, spec: catalog.ModelSpec) -> dict:
        from diffusers import AutoPipelineForText2Image

        self.require(spec)
        kwargs = {"dtype": self.placement.dtype}
        if str(self.placement.dtype) == "torch.float16":
            kwargs["variant"] = "fp16"
        try:
            pipe = self._from_pretrained(AutoPipelineForText2Image, spec.repos["pipeline"], **kwargs)
        except ModelUnavailable:
            if "variant" not in kwargs:
                raise
            kwargs.pop("variant")
            pipe = self._from_pretrained(AutoPipelineForText2Image, spec.repos["pipeline"], **kwargs)
        return dict(pipe.components, _class=type(pipe))

    def text(self, spec: catalog.ModelSpec):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.require(spec)
        src = self.bundled_path(spec) if spec.bundled is not None else spec.repos["model"]
        tokenizer = self._from_pretrained(AutoTokenizer, src)
        model = self._from_pretrained(AutoModelForCausalLM, src, dtype=self.placement.dtype)
        return model, tokenizer

    def placeholder_path(self) -> Path:
        """The untrained stand-in for `mini`, built once into the data directory."""
        from hub.mini.tiny import PLACEHOLDER_MARK, save_placeholder

        root = self.settings.data_dir / "models" / "mini-placeholder"
        with _placeholder_lock:
            if not (root / PLACEHOLDER_MARK).exists() or not (root / "decoder-inpaint").exists():
                log.warning("building the untrained mini placeholder in %s", root)
                root.parent.mkdir(parents=True, exist_ok=True)
                save_placeholder(root)
        return root


# A fast (Rust) tokenizer sets its padding and truncation on the one Rust object it holds at every call, then
# encodes, and releases the GIL while it encodes: two threads calling it at once can each encode with the other's
# settings. A prompt came back unpadded (5 tokens where the prior reads 32) while another thread counted a prompt's
# tokens, and a Ray replica's job failed on it (transformers#47085: no lock in transformers 5.24).
_SERIALISED = ("_encode_plus", "_batch_encode_plus", "_decode")  # where transformers 4.x and 5.x set and use that state


def one_call_at_a_time(tokenizer) -> None:
    """Make `tokenizer` (any object: only a transformers tokenizer is changed) serve one call at a time, whichever
    thread calls it, as transformers' own fix for fast tokenizers does: a lock of its own around the methods that
    set its settings and encode or decode with them. A copy (deepcopy, pickle) gets a lock of its own."""
    from transformers import PreTrainedTokenizerBase

    if not isinstance(tokenizer, PreTrainedTokenizerBase) or "_lienzo_lock" in vars(tokenizer):
        return
    lock = _Lock()
    tokenizer._lienzo_lock = lock
    for name in _SERIALISED:
        if hasattr(type(tokenizer), name):
            setattr(tokenizer, name, partial(_locked, lock, tokenizer, name))


class _Lock:
    """A reentrant lock (transformers 4.x's _encode_plus calls _batch_encode_plus) that copies as a new one."""

    def __init__(self):
        self._lock = threading.RLock()

    def __enter__(self):
        return self._lock.__enter__()

    def __exit__(self, *exc):
        return self._lock.__exit__(*exc)

    def __reduce__(self):
        return _Lock, ()


def _locked(lock, tokenizer, name, *args, **kwargs):
    with lock:
        return getattr(type(tokenizer), name)(tokenizer, *args, **kwargs)


def place(pipe, placement: Placement):
    """Move a pipeline to its device, or set up CPU offload for small GPUs."""
    import torch

    if placement.offload == "model" and placement.device.startswith("cuda"):
        pipe.enable_model_cpu_offload(device=placement.device)
    elif placement.offload == "sequential" and placement.device.startswith("cuda"):
        pipe.enable_sequential_cpu_offload(device=placement.device)
    else:
        pipe.to(placement.device)
        pipe.__class__ = _placed_whole(type(pipe))
        pipe._placed_on = torch.device(placement.device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def channels_last_on_cpu(placement: Placement, *modules) -> None:
    """Image decoders' weights stored channels-last where they run on a CPU, so oneDNN's convolutions need no
    reorder of each activation: on 2 CPU cores the mini's MoVQ decoded a grid in 53 ms instead of 78 and its tiny
    latent decoder in 15 instead of 19 (the same pictures: they differ by about 1e-6). The UNets gain 2-3%, so they
    stay as they are; on a GPU nothing changes (docs/BENCHMARKS.md, session 27)."""
    import torch

    if placement.device != "cpu":
        return
    for module in modules:
        if module is not None:
            module.to(memory_format=torch.channels_last)


def lanes_on_cpu(placement: Placement, *calls: tuple) -> None:
    """(object, method) calls that may run as lanes where they run on a CPU (hub/lanes.py): a batch cut into parts
    that run side by side, one torch thread each."""
    from hub import lanes

    if placement.device != "cpu":
        return
    for obj, method in calls:
        if obj is not None:
            lanes.wrap(obj, method)


@cache
def _placed_whole(cls):
    """`cls` for a pipeline placed whole on one device (no offload hooks): its execution device is where it was
    placed, as the engines' own tensors are (`engine.device`). diffusers' own `_execution_device` (and `device`)
    walk every submodule of every component looking for offload hooks on each call: 6-7 ms a call for the mini's
    decoder on 2 CPU cores, 4% of a draft grid."""
    return type(
        cls.__name__,
        (cls,),
        {"_execution_device": property(lambda self: self._placed_on), "__module__": cls.__module__},
    )
