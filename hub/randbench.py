"""`lienzo bench --random-weights`: what the real models would cost, measured without downloading them.

Each catalog model's full-size architecture is built from its published configs (`hub/published/*.json`, each
citing where its numbers come from) with random weights, through the same diffusers/transformers classes
`from_pretrained` would give, and timed through the real pipelines. Random weights compute as fast as trained
ones: the same shapes, the same kernels (the pictures are noise). Every figure is also a ratio against
"plain" diffusers in the same run: fp16 (fp32 on a CPU), diffusers' classic attention processors, no other lever.

Levers, each on and off: bf16 instead of fp16, SDPA attention, channels-last memory, `torch.compile` of the
denoiser, model CPU offload. On a CPU `--reduced` builds the same classes at toy width (a smoke check for CI);
`--gpu-subset` runs the prepared set that fits in about ten minutes on one GPU.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

PUBLISHED = Path(__file__).parent / "published"
IMAGE_MODELS = ("kandinsky-2.2", "sdxl-turbo", "sd-1.5")
TEXT_MODELS = ("smollm2-360m", "qwen2.5-0.5b")
LEVERS = ("bf16", "sdpa", "channels_last", "compile", "offload")
PROMPT = "a red circle above a blue square, oil painting"


def _no_config(models: list[str]) -> ValueError:
    return ValueError(
        f"no published config for {', '.join(models)}; these have one: {', '.join(IMAGE_MODELS + TEXT_MODELS)}"
    )


def spec(model: str) -> dict:
    path = PUBLISHED / f"{model}.json"
    if not path.exists():
        raise _no_config([model])
    return json.loads(path.read_text(encoding="utf-8"))


def _class(dotted: str):
    module, name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def build_component(part: dict, *, reduced: bool, device: str | torch.device = "cpu", **extra):
    """One component from its published config (or the reduced one), random weights, on `device`."""
    config = dict(part["config"], **(part.get("reduced", {}) if reduced else {}), **extra)
    cls = _class(part["class"])
    if part["class"].endswith("Scheduler"):
        return cls.from_config(config)
    with torch.device(device):
        if "config_class" in part:
            return cls(_class(part["config_class"])(**config))
        return cls(**config)


def count_params(model: str, reduced: bool = False) -> dict[str, float]:
    """Millions of parameters per component, built on the meta device (no memory, no time)."""
    out = {}
    for role, part in spec(model)["components"].items():
        if part["class"].endswith("Scheduler"):
            continue
        module = build_component(part, reduced=reduced, device="meta")
        out[role] = sum(p.numel() for p in module.parameters()) / 1e6
    return out


def _tokenizer(folder: Path):
    """A CLIP BPE tokenizer made here (the real vocab is a download): prompts become ids of the same length."""
    from hub.mini.tokenizer import train_clip_bpe

    words = PROMPT.split() + ["a", "an", "the", "of", "and", "photo", "portrait", "landscape", "blue", "green"]
    return train_clip_bpe([" ".join(words)] * 4, folder, vocab_size=300)


@dataclass
class Variant:
    name: str
    dtype: torch.dtype
    sdpa: bool = False
    channels_last: bool = False
    compile: bool = False
    offload: bool = False

    def levers(self) -> list[str]:
        on = [("bf16", self.dtype == torch.bfloat16), ("sdpa", self.sdpa), ("channels_last", self.channels_last)]
        on += [("compile", self.compile), ("offload", self.offload)]
        return [name for name, flag in on if flag]


@dataclass
class Plan:
    """What to run: sizes, batches, steps and variants per model."""

    sizes: tuple[int, ...]
    batches: tuple[int, ...]
    variants: list[Variant]
    steps: dict[str, int] = field(default_factory=dict)  # model -> denoiser steps (the model's default if absent)
    repeats: int = 2
    new_tokens: int = 128


def _set_sdpa(module, on: bool) -> None:
    """Swap every attention processor between diffusers' classic one and its SDPA twin."""
    from diffusers.models import attention_processor as ap

    if not hasattr(module, "attn_processors"):
        return
    pairs = [(ap.AttnProcessor, ap.AttnProcessor2_0), (ap.AttnAddedKVProcessor, ap.AttnAddedKVProcessor2_0)]
    chosen = {}
    for name, proc in module.attn_processors.items():
        for classic, sdpa in pairs:
            if isinstance(proc, (classic, sdpa)):
                proc = sdpa() if on else classic()
        chosen[name] = proc
    module.set_attn_processor(chosen)


class _Pipes:
    """The model's pipelines, built once at full size (or reduced) on one device; levers applied in place."""

    def __init__(self, model: str, device: str, reduced: bool, scratch: Path):
        import diffusers

        self.model, self.device, self.reduced = model, device, reduced
        parts = spec(model)["components"]
        tok = _tokenizer(scratch / "tokenizer")
        ids = {"bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id}
        built = {}
        for role, part in parts.items():
            extra = ids if part["class"].startswith("transformers.CLIPText") else {}
            built[role] = build_component(part, reduced=reduced, device=device, **extra)
        for m in built.values():
            if isinstance(m, torch.nn.Module):
                m.eval().requires_grad_(False)
        self.modules = {k: v for k, v in built.items() if isinstance(v, torch.nn.Module)}
        self.denoiser = "unet"
        if model == "kandinsky-2.2":
            from transformers import CLIPImageProcessor

            side = built["image_encoder"].config.image_size
            processor = CLIPImageProcessor(size={"shortest_edge": side}, crop_size={"height": side, "width": side})
            self.prior = diffusers.KandinskyV22PriorPipeline(
                prior=built["prior"],
                image_encoder=built["image_encoder"],
                text_encoder=built["text_encoder"],
                tokenizer=tok,
                scheduler=built["prior_scheduler"],
                image_processor=processor,
            )
            self.decoder = diffusers.KandinskyV22Pipeline(
                unet=built["unet"], scheduler=built["scheduler"], movq=built["movq"]
            )
            self.pipes = [self.prior, self.decoder]
        elif model == "sdxl-turbo":
            self.pipe = diffusers.StableDiffusionXLPipeline(tokenizer=tok, tokenizer_2=tok, **built)
            self.pipes = [self.pipe]
        else:
            self.pipe = diffusers.StableDiffusionPipeline(
                tokenizer=tok, safety_checker=None, feature_extractor=None, requires_safety_checker=False, **built
            )
            self.pipes = [self.pipe]
        for p in self.pipes:
            p.set_progress_bar_config(disable=True)
        self.dtype = torch.float32
        self.compiled = False
        self.offloaded = False

    def apply(self, v: Variant) -> None:
        if v.offload != self.offloaded:
            if not v.offload:
                raise ValueError("offload is the last variant: it cannot be undone in place")
            for p in self.pipes:
                p.enable_model_cpu_offload(device=self.device)
            self.offloaded = True
        if v.dtype != self.dtype:
            for m in self.modules.values():
                m.to(v.dtype)
            self.dtype = v.dtype
        for m in self.modules.values():
            _set_sdpa(m, v.sdpa)
            if hasattr(m, "attn_processors"):  # diffusers' convolutional models
                m.to(memory_format=torch.channels_last if v.channels_last else torch.contiguous_format)
        if v.compile and not self.compiled:
            self.modules[self.denoiser].compile(dynamic=False)  # one graph per batch size, as a server would
            self.compiled = True
        elif self.compiled and not v.compile:
            raise ValueError("compile is one of the last variants: it cannot be undone in place")

    def weight_bytes(self) -> int:
        tensors = [t for m in self.modules.values() for t in (*m.parameters(), *m.buffers())]
        return sum(t.numel() * t.element_size() for t in tensors if t.device.type != "cpu")

    def _sync(self):
        if self.device != "cpu":
            torch.cuda.synchronize()

    def run(self, size: int, batch: int, steps: int) -> dict[str, float]:
        """One call for `batch` images; seconds per stage."""
        g = torch.Generator("cpu").manual_seed(0)
        prompts = [PROMPT] * batch
        self._sync()
        t0 = time.perf_counter()
        if self.model == "kandinsky-2.2":
            emb = self.prior(prompts, generator=g, num_inference_steps=25, guidance_scale=4.0)
            self._sync()
            t1 = time.perf_counter()
            self.decoder(
                image_embeds=emb.image_embeds,
                negative_image_embeds=emb.negative_image_embeds,
                width=size,
                height=size,
                num_inference_steps=steps,
                guidance_scale=4.0,
                generator=g,
                output_type="np",
            )
            self._sync()
            return {"prior_s": t1 - t0, "decoder_s": time.perf_counter() - t1, "seconds": time.perf_counter() - t0}
        guidance = 0.0 if self.model == "sdxl-turbo" else 7.5
        self.pipe(
            prompts,
            width=size,
            height=size,
            num_inference_steps=steps,
            guidance_scale=guidance,
            generator=g,
            output_type="np",
        )
        self._sync()
        return {"seconds": time.perf_counter() - t0}


def _peak_reset(device: str) -> int:
    """Start a peak; the bytes already allocated (other models kept resident between passes count among them)."""
    if device == "cpu":
        return 0
    torch.cuda.reset_peak_memory_stats()
    return torch.cuda.memory_allocated()


def _peak_gib(device: str, before: int, own_weights: int) -> float:
    """This model's peak: its weights plus what its calls allocated. On a CPU, the process's peak RSS."""
    if device == "cpu":
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    return round((torch.cuda.max_memory_allocated() - before + own_weights) / 2**30, 2)


DEFAULT_STEPS = {"kandinsky-2.2": 50, "sdxl-turbo": 1, "sd-1.5": 30}


class _ImageBench:
    """One model's pipelines and its plain baselines, kept between passes."""

    def __init__(self, model: str, plan: Plan, device: str, reduced: bool, scratch: Path, emit):
        t0 = time.perf_counter()
        self.pipes = _Pipes(model, device, reduced, scratch)
        self.model, self.plan, self.device, self.emit = model, plan, device, emit
        self.steps = plan.steps.get(model, DEFAULT_STEPS[model])
        self.plain: dict[tuple[int, int], float] = {}
        params = {k: round(sum(p.numel() for p in m.parameters()) / 1e6, 3) for k, m in self.pipes.modules.items()}
        emit({"model": model, "event": "built", "seconds": round(time.perf_counter() - t0, 2), "params_m": params})

    def variant(self, v: Variant, deadline: float) -> None:
        if time.perf_counter() > deadline:
            self.emit({"model": self.model, "variant": v.name, "skipped": "out of time"})
            return
        self.pipes.apply(v)
        for size in self.plan.sizes:
            for batch in self.plan.batches:
                if time.perf_counter() > deadline:
                    self.emit(
                        {"model": self.model, "variant": v.name, "size": size, "batch": batch, "skipped": "out of time"}
                    )
                    continue
                self.row(v, size, batch)

    def row(self, v: Variant, size: int, batch: int) -> None:
        w0 = time.perf_counter()
        self.pipes.run(size, batch, min(self.steps, 2))  # warm-up: kernels chosen, compiled graphs built
        warm = time.perf_counter() - w0
        base = _peak_reset(self.device)
        runs = [self.pipes.run(size, batch, self.steps) for _ in range(self.plan.repeats)]
        peak = _peak_gib(self.device, base, self.pipes.weight_bytes())
        row = {k: round(statistics.median(r[k] for r in runs), 4) for k in runs[0]}
        if not v.levers():
            self.plain[size, batch] = row["seconds"]
        base = self.plain.get((size, batch))
        self.emit(
            {
                "model": self.model,
                "variant": v.name,
                "levers": v.levers(),
                "dtype": str(v.dtype).split(".")[-1],
                "size": size,
                "batch": batch,
                "steps": self.steps,
                **row,
                "per_image_s": round(row["seconds"] / batch, 4),
                "images_per_s": round(batch / row["seconds"], 3),
                "peak_gib": peak,
                "warmup_s": round(warm, 2),
                "ratio_vs_plain": round(base / row["seconds"], 3) if base else None,
            }
        )


def _generate_s(lm, ids, new_tokens: int) -> float:
    """Seconds for greedy decoding of exactly `new_tokens` tokens after `ids`, KV cache on."""
    sync = torch.cuda.synchronize if ids.is_cuda else (lambda: None)
    sync()
    t = time.perf_counter()
    mask = torch.ones_like(ids)
    lm.generate(ids, attention_mask=mask, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)
    sync()
    return time.perf_counter() - t


def bench_text_model(model: str, plan: Plan, device: str, reduced: bool, deadline: float, emit) -> None:
    """Tokens a second for one chat reply (a 32-token prompt, greedy), per variant: dtype and attention."""
    t0 = time.perf_counter()
    lm = build_component(spec(model)["components"]["model"], reduced=reduced, device=device).eval()
    emit({"model": model, "event": "built", "seconds": round(time.perf_counter() - t0, 2)})
    ids = torch.randint(0, lm.config.vocab_size, (1, 32), generator=torch.Generator().manual_seed(0)).to(device)
    plain = None
    for v in plan.variants:
        if v.channels_last or v.compile or v.offload:
            raise ValueError(f"{v.name}: channels-last, compile and offload are levers of the image denoisers")
        if time.perf_counter() > deadline:
            emit({"model": model, "variant": v.name, "skipped": "out of time"})
            continue
        lm.to(v.dtype)
        lm.config._attn_implementation = "sdpa" if v.sdpa else "eager"
        _generate_s(lm, ids, 4)  # warm-up
        took = statistics.median(_generate_s(lm, ids, plan.new_tokens) for _ in range(plan.repeats))
        if not v.levers():
            plain = took
        emit(
            {
                "model": model,
                "variant": v.name,
                "levers": v.levers(),
                "dtype": str(v.dtype).split(".")[-1],
                "new_tokens": plan.new_tokens,
                "seconds": round(took, 4),
                "tokens_per_s": round(plan.new_tokens / took, 1),
                "ratio_vs_plain": round(plain / took, 3) if plain else None,
            }
        )


def gpu_subset() -> dict[str, Plan]:
    """The prepared set for one GPU, about ten minutes: Kandinsky 2.2 at 768², SDXL-Turbo at 512², batch 1 and 4."""
    half = torch.float16
    plain, fast = Variant("plain", half), Variant("sdpa+channels_last", half, sdpa=True, channels_last=True)
    bf16 = Variant("bf16+sdpa+channels_last", torch.bfloat16, sdpa=True, channels_last=True)
    compiled = Variant("sdpa+channels_last+compile", half, sdpa=True, channels_last=True, compile=True)
    return {
        "kandinsky-2.2": Plan((768,), (1, 4), [plain, fast, bf16, compiled]),
        "sdxl-turbo": Plan((512,), (1, 4), [plain, fast, compiled], repeats=3),
        "qwen2.5-0.5b": Plan((), (), [plain, Variant("sdpa", half, sdpa=True)]),
    }


def cpu_smoke() -> dict[str, Plan]:
    """Every model at toy width on a CPU, two steps: the same classes, pipelines and levers, for CI."""
    f32 = torch.float32
    variants = [Variant("plain", f32), Variant("sdpa+channels_last", f32, sdpa=True, channels_last=True)]
    steps = {m: 2 for m in IMAGE_MODELS}
    plans = {m: Plan((64,), (1, 2), variants, steps=steps, repeats=1) for m in IMAGE_MODELS}
    text = [Variant("plain", f32), Variant("sdpa", f32, sdpa=True)]
    plans.update({m: Plan((), (), text, repeats=1, new_tokens=8) for m in TEXT_MODELS})
    return plans


def run_random_weights(
    models: list[str] | None = None,
    *,
    reduced: bool | None = None,
    subset: bool = False,
    budget_s: float = 540,
    out: Path | None = None,
    progress: Callable[[str], None] = print,
) -> dict:
    """Run the plan; rows are written to `out` as they come, so a run stopped at its limit keeps what it measured."""
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()  # the pipelines' per-call notes (VAE upcasting ...) are expected here
    device = "cuda" if torch.cuda.is_available() else "cpu"
    reduced = (device == "cpu") if reduced is None else reduced
    plans = gpu_subset() if subset else cpu_smoke() if reduced else _full_plans(device)
    if models:
        plans = (cpu_smoke() if reduced else _full_plans(device)) | plans
    chosen = models or list(plans)
    unknown = [m for m in chosen if m not in IMAGE_MODELS + TEXT_MODELS]
    if unknown:
        raise _no_config(unknown)
    report = {
        "what": "random weights in the published architectures" + (" at toy width (reduced)" if reduced else ""),
        "machine": {
            "device": torch.cuda.get_device_name(0) if device == "cuda" else (platform.processor() or "cpu"),
            "cpu_cores": os.cpu_count(),
            "torch": torch.__version__,
            "diffusers": importlib.import_module("diffusers").__version__,
            "transformers": importlib.import_module("transformers").__version__,
        },
        "rows": [],
    }

    def emit(row):
        report["rows"].append(row)
        progress(json.dumps(row))
        if out:
            out.write_text(json.dumps(report, indent=1) + "\n")

    deadline = time.perf_counter() + budget_s
    images = [m for m in chosen if m in IMAGE_MODELS]
    with tempfile.TemporaryDirectory() as scratch:
        benches = {m: _ImageBench(m, plans[m], device, reduced, Path(scratch) / m, emit) for m in images}
        # compile and offload change a model for good, and compiling takes minutes: every model's other
        # variants run first, so a run that meets its deadline has lost only the slowest figures
        for last in (False, True):
            for m, bench in benches.items():
                for v in plans[m].variants:
                    if (v.compile or v.offload) == last:
                        bench.variant(v, deadline)
            if not last:  # the chat models are quick: before the compiled variants, which may meet the deadline
                for model in (m for m in chosen if m in TEXT_MODELS):
                    bench_text_model(model, plans[model], device, reduced, deadline, emit)
        benches.clear()
    if device != "cpu":
        torch.cuda.empty_cache()
    return report


def _full_plans(device: str) -> dict[str, Plan]:
    """Full size, every lever, 512² and 768²: longer than the prepared subset."""
    dt = torch.float16 if device != "cpu" else torch.float32
    variants = [
        Variant("plain", dt),
        Variant("sdpa", dt, sdpa=True),
        Variant("sdpa+channels_last", dt, sdpa=True, channels_last=True),
    ]
    if device != "cpu":
        variants.append(Variant("bf16+sdpa+channels_last", torch.bfloat16, sdpa=True, channels_last=True))
        variants.append(Variant("sdpa+channels_last+compile", dt, sdpa=True, channels_last=True, compile=True))
    offload = [Variant("sdpa+offload", dt, sdpa=True, offload=True)] if device != "cpu" else []
    image = {m: Plan((512, 768), (1, 4, 8), variants + offload) for m in IMAGE_MODELS}
    image["sdxl-turbo"] = Plan((512,), (1, 4, 8), variants + offload, repeats=3)
    text = {m: Plan((), (), [variants[0], variants[1]]) for m in TEXT_MODELS}
    return image | text


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", help="a model with a published config (default: the plan's)")
    p.add_argument("--reduced", action="store_true", default=None)
    p.add_argument("--gpu-subset", action="store_true")
    p.add_argument("--budget-s", type=float, default=540)
    p.add_argument("--out", type=Path)
    a = p.parse_args(argv)
    run_random_weights(a.model, reduced=a.reduced, subset=a.gpu_subset, budget_s=a.budget_s, out=a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
