"""Named models, what each can do, and where its weights come from.

`availability()` says whether a model can run here now and why not; it is pure (device facts and
the offline flag come from `loading`), so `lienzo models` and the UIs show the same reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

CAPABILITIES = ("text2img", "mix", "variation", "img2img", "chat", "expand", "caption")
BUNDLED_ROOT = Path(__file__).parent / "mini" / "weights"


@dataclass(frozen=True)
class Defaults:
    width: int = 512
    height: int = 512
    num_inference_steps: int = 50
    guidance_scale: float = 4.0
    prior_num_inference_steps: int = 25
    prior_guidance_scale: float = 4.0
    max_side: int = 1024
    min_side: int = 64
    max_steps: int = 150
    max_guidance: float = 20.0
    size_multiple: int = 64  # Kandinsky 2.2: MoVQ factor squared; SD: the VAE's factor
    scheduler: str | None = None  # None: the model's own
    # --draft: fewer decoder (and prior) steps with a multistep solver; Enhance redraws at the steps above
    draft_steps: int = 8
    draft_prior_steps: int | None = 5
    draft_scheduler: str | None = "DPMSolverMultistepScheduler"
    distilled_steps: int = 4  # with a distilled draft decoder (decoder-draft/): its steps, guidance built in
    # ... and the timesteps it takes them at; None: its scheduler's own spacing (LCMScheduler's, on the grid it was
    # distilled on). Used only when a draft runs exactly that many steps
    distilled_timesteps: tuple[int, ...] | None = None
    # Kandinsky's prior in a draft: a deterministic multistep solver instead of its own ancestral UnCLIPScheduler
    # (the mini, eval-mini, docs/BENCHMARKS.md session 24: 5 DPM-Solver++ steps draw what 10 UnCLIP steps do)
    draft_prior_scheduler: str | None = "DPMSolverMultistepScheduler"
    # hard negatives against hidden objects (hub.mini.guard): the prior's guidance away from the prompt with a
    # background in a named object's colour, at this scale; 0: off (the words are the mini's world's)
    background_guard: float = 0.0
    # a sampling check after it: a prior sample read (by the model's own CLIP) as such a background is drawn again
    # with fresh noise, at most this many times (hub.mini.guard.background_texts); 0: off
    background_redraws: int = 0
    # Zoom Out and Pan: the new border starts from the canvas's fill (the picture's edge colour) noised to this
    # strength (hub/engines/fill.py, A1111's "masked content: fill"); 1: from pure noise, the border drawn from the
    # words and the picture alone
    outpaint_strength: float = 1.0
    # Vary (Region)'s decoder guidance; None: the parent job's
    region_guidance: float | None = None


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str  # kandinsky | auto (diffusers AutoPipeline) | text
    title: str
    capabilities: frozenset[str]
    repos: dict[str, str] = field(default_factory=dict)  # role -> Hugging Face repo id
    bundled: str | None = None  # folder under hub/mini/weights
    defaults: Defaults = Defaults()
    min_gpu_gib: float = 0.0  # 0: fine on a CPU
    license: str = ""
    about: str = ""

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    def bundled_in(self, mini_root: Path | None) -> Path | None:
        """Where the bundled weights are, or under `mini_root` (LIENZO_MINI_WEIGHTS: a `train-mini --out` folder)."""
        return (mini_root or BUNDLED_ROOT) / self.bundled if self.bundled else None


@dataclass(frozen=True)
class Availability:
    ok: bool
    status: str  # bundled | placeholder | cached | download | offline | needs-gpu | missing
    reason: str


_K = frozenset({"text2img", "mix", "variation", "img2img", "caption", "inpaint"})
MODELS: dict[str, ModelSpec] = {
    m.name: m
    for m in (
        # The mini's decoder guidance is 2, not Kandinsky's 4: on 96 held-out prompts shape went 64% -> 72% and count
        # 64% -> 75% (colour and relation the same), and at 1 shape fell back to 67%. Its prior keeps 4: at 2 no
        # better, at 8 relation fell to 15%.
        ModelSpec(
            "mini",
            "kandinsky",
            "Lienzo mini Kandinsky (bundled, CPU)",
            _K,
            bundled=".",
            defaults=Defaults(
                64,
                64,
                25,
                2.0,
                25,
                4.0,
                max_side=256,
                min_side=16,
                max_steps=100,
                size_multiple=16,
                draft_steps=4,
                # the distilled draft (eval-mini at 1:1, 96 + 96 prompts, 2 images, en/es, against the full model's
                # figures; session 22, a draft distilled from the even mean of two tunes' decoders): 10 prior steps
                # + 3 LCM steps lose 3.4/3.5 points of shape and 3.7/2.1 of relation; 8 + 4 lose 3.8/2.6 and
                # 3.2/3.1; 8 + 3 lose 5.1/4.1 and 3.2/3.1; 6 + 3 (session 15's choice) 6.5/6.1 and 6.3/5.7. The
                # shipped draft (the 0.7 mean's) at 10 + 3: 1.4/2.4 and 1.1/1.6. Session 24, the prior drawn by
                # DPM-Solver++ (draft_prior_scheduler) instead of UnCLIP, session 23's model: 5 + 3 lose 3.6/4.4 of
                # shape and 0.0/0.5 of relation at 1:1 (10 UnCLIP + 3: 3.4/4.9 and 1.6/2.1), at 9:16 7.3/5.6 and
                # 0.5/0.5 (9.9/8.5 and 4.2/3.1); five prior steps cost half of ten. Session 28 (the new detector,
                # lanes): 4 DPM-Solver++ prior steps lose at most 3.7 points of shape (16:9 en) against 3.6 at 5;
                # 3 steps lose 4.9 (9:16 en). Each step is about 19 ms of a 0.44 s draft on 2 cores
                draft_prior_steps=4,
                distilled_steps=3,
                # LCMScheduler spaces 3 steps 999, 679, 339. Shape against the full model (eval-mini --draft, 96 +
                # 96 prompts, 2 images, en/es; session 26): 16:9 -7.3/-9.0 -> -6.1/-6.1, 9:16 -7.3/-5.6 ->
                # -5.1/-5.1, 1:1 -3.6/-4.4 -> -2.8/-4.5 at 999, 599, 299; 999, 539, 239 drew about as well, later
                # second steps (759, 839) and earlier last ones (199) worse
                distilled_timesteps=(999, 599, 299),
                # 48 two-object prompts with no background named, 4 images each: a named colour hid its object in
                # 19.3% of images without the guard, 1.6/0.0% (en/es) at 2 (relation 81 -> 96%); at 4 colour fell
                # to 77%
                background_guard=2.0,
                # with the session-18 language side, 48 + 48 such prompts, 4 images each: hidden in 22.4% unguarded,
                # 3.4% with the hard negatives, 2.6% with 2 redraws at the same scale, 0.8% with 2 redraws that
                # steer further each time (the engine's redraw_hidden); decoded pictures are read and redrawn the
                # same way (prompts naming their background: hidden in 18 of 664 pictures -> 4 with the guard), a
                # redrawn picture's decoder steered from the hiding background's embedding at rising guidance
                background_redraws=2,
                # zoomed out 2x and 1.5x, 24 + 24 scenes that name their background, 2 images: the border shows it
                # in 91% from pure noise, 100% at 0.9, 0.8 and 0.7; no object at the seam 94-97% at 0.7-0.85 with the
                # border steered by its background alone (Hub._edit)
                outpaint_strength=0.7,
                # a repainted region's shape (24 + 24 region edits, 2 images, en/es): 79.2/93.8% at the parent's 2,
                # 85.4/93.8% at 1.5, 75.0/75.0% at 1, 58.3/93.8% at 4 (squares read as circles)
                region_guidance=1.5,
            ),
            license="Apache-2.0",
            about="A miniature Kandinsky 2.2 trained on a drawn shapes world; works offline.",
        ),
        ModelSpec(
            "kandinsky-2.2",
            "kandinsky",
            "Kandinsky 2.2",
            _K,
            repos={
                "prior": "kandinsky-community/kandinsky-2-2-prior",
                "decoder": "kandinsky-community/kandinsky-2-2-decoder",
                "inpaint": "kandinsky-community/kandinsky-2-2-decoder-inpaint",  # its UNet, loaded on the first edit
            },
            defaults=Defaults(768, 768, 50, 4.0, 25, 4.0, max_side=1536, max_steps=150),
            min_gpu_gib=8,
            license="Apache-2.0",
            about="CLIP text encoder -> prior -> image embedding -> UNet on MoVQ latents -> MoVQ decoder.",
        ),
        ModelSpec(
            "sdxl-turbo",
            "auto",
            "SDXL-Turbo",
            frozenset({"text2img", "img2img", "inpaint"}),
            repos={"pipeline": "stabilityai/sdxl-turbo"},
            defaults=Defaults(
                512,
                512,
                1,
                0.0,
                max_side=1024,
                max_steps=4,
                max_guidance=0.0,
                size_multiple=8,
                draft_steps=1,
                draft_scheduler=None,  # distilled already: its draft is its full run
            ),
            min_gpu_gib=8,
            license="SAI non-commercial research community license",
            about="Adversarially distilled SDXL: 1-4 steps, no guidance.",
        ),
        ModelSpec(
            "sd-1.5",
            "auto",
            "Stable Diffusion 1.5",
            frozenset({"text2img", "img2img", "inpaint"}),
            repos={"pipeline": "stable-diffusion-v1-5/stable-diffusion-v1-5"},
            defaults=Defaults(512, 512, 30, 7.5, max_side=1024, size_multiple=8),
            min_gpu_gib=4,
            license="CreativeML OpenRAIL-M",
            about="Latent diffusion with a CLIP text encoder and a UNet on VAE latents.",
        ),
        ModelSpec(
            "sdxl",
            "auto",
            "Stable Diffusion XL 1.0",
            frozenset({"text2img", "img2img", "inpaint"}),
            repos={"pipeline": "stabilityai/stable-diffusion-xl-base-1.0"},
            defaults=Defaults(1024, 1024, 30, 7.0, max_side=1536, size_multiple=8),
            min_gpu_gib=10,
            license="CreativeML OpenRAIL++-M",
            about="SDXL base: two text encoders, 1024 px.",
        ),
        ModelSpec(
            "smollm2-360m",
            "text",
            "SmolLM2-360M-Instruct",
            frozenset({"chat", "expand"}),
            repos={"model": "HuggingFaceTB/SmolLM2-360M-Instruct"},
            license="Apache-2.0",
            about="A small instruct LLM: the chat tutor and prompt enhancement; runs on a CPU.",
        ),
        ModelSpec(
            "qwen2.5-0.5b",
            "text",
            "Qwen2.5-0.5B-Instruct",
            frozenset({"chat", "expand"}),
            repos={"model": "Qwen/Qwen2.5-0.5B-Instruct"},
            license="Apache-2.0",
            about="A small multilingual instruct LLM (good Spanish).",
        ),
        ModelSpec(
            "mini-text",
            "text",
            "Lienzo mini-text (bundled)",
            frozenset({"expand"}),
            bundled="text",
            license="Apache-2.0",
            about="A tiny GPT trained on the shapes-world caption grammar, offline.",
        ),
    )
}


def get(name: str) -> ModelSpec:
    from hub.errors import ModelUnavailable, shown

    try:
        return MODELS[name]
    except (KeyError, TypeError):
        raise ModelUnavailable(f"unknown model {shown(name, 40)}; choose one of: {', '.join(MODELS)}") from None


def availability(
    spec: ModelSpec,
    *,
    gpu_gib: float | None,
    offline: bool,
    cached: bool,
    device: str = "auto",
    mini_root: Path | None = None,
) -> Availability:
    """Can `spec` run here now? gpu_gib: memory of the GPU in use (None: no GPU)."""
    if spec.bundled is not None:
        path = spec.bundled_in(mini_root)
        present = path is not None and (path / ("prior" if spec.family == "kandinsky" else "config.json")).exists()
        if present:
            where = f"from LIENZO_MINI_WEIGHTS at {path}" if mini_root else f"bundled at {path}"
            return Availability(True, "bundled", where)
        if spec.family == "kandinsky":
            return Availability(
                True,
                "placeholder",
                f"no trained weights at {path}: runs an UNTRAINED "
                "random-weight stand-in with the same architecture (noise-like images)",
            )
        return Availability(False, "missing", f"no weights at {path} (`lienzo train-mini` makes them)")
    if spec.min_gpu_gib > 0 and device != "cpu":
        if gpu_gib is None:
            return Availability(
                False,
                "needs-gpu",
                f"needs a GPU with at least {spec.min_gpu_gib:g} GiB; none found "
                "(LIENZO_DEVICE=cpu forces it onto the CPU, very slowly)",
            )
        if gpu_gib < spec.min_gpu_gib / 2:
            return Availability(
                False,
                "needs-gpu",
                f"needs about {spec.min_gpu_gib:g} GiB of GPU memory "
                f"({spec.min_gpu_gib / 2:g} GiB with offload); this GPU has {gpu_gib:.1f} GiB",
            )
    if cached:
        return Availability(True, "cached", "weights found in the local Hugging Face cache")
    if offline:
        return Availability(
            False,
            "offline",
            "needs a download from the Hugging Face Hub, and this machine is "
            "offline (HF_HUB_OFFLINE=1 or the Hub is unreachable)",
        )
    return Availability(True, "download", "downloads from the Hugging Face Hub on first use")
