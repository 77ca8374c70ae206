"""The mini's training recipe: its settings (TrainConfig), its architecture (ARCH), its stages in order with what
each needs, each stage's seed, and the aspect-ratio buckets' weights. `lienzo train-mini --set KEY=VALUE` changes a
setting; hub/mini/train.py runs the stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from hub.mini import world
from hub.mini.tiny import TinyArch


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    clip_steps: int = 4000
    clip_batch: int = 128
    prior_steps: int = 2500
    prior_batch: int = 128
    movq_steps: int = 1200
    movq_batch: int = 32
    unet_steps: int = 5000
    unet_batch: int = 64
    text_steps: int = 4000
    lr: float = 1e-3
    unet_lr: float = 5e-4
    unet_pool: int = 40960  # scenes encoded once for the UNet stage (see latent_pool)
    unet_schedule: int = 0  # the learning rate's cosine length in steps (0: unet_steps)
    min_snr: float = 0.0  # 0: no Min-SNR clamp (see train_unet)
    cond_noise: float = 0.8  # the decoder's conditioning noise, at most this fraction of the embedding's norm
    cond_drop: float = 0.1  # classifier-free guidance dropout (prior and decoder)
    aux_weight: float = 1.0  # the CLIP stage's attribute heads (see HEADS)
    shape_weight: float = 3.0  # the shape heads' weight among them: shape is what the tower learns last
    # the draft decoder (hub/mini/distil.py): consistency distillation of the guided UNet
    draft_steps: int = 600
    draft_batch: int = 32
    draft_lr: float = 1e-4
    draft_ema: float = 0.95
    draft_guidance: float = 2.0  # the mini's decoder guidance, built into the student
    draft_huber: float = 0.001
    draft_pool: int = 8192  # scenes for --draft-from (a from-scratch run distils on the UNet stage's pool)
    draft_wide_weight: float = 0.15  # --draft-from: the 80x48 and 48x80 buckets' weight (bucket_weights)
    # the inpainting decoder (hub/mini/inpaint.py): the decoder UNet with 9 input channels, taught to fill holes
    inpaint_steps: int = 1600
    inpaint_batch: int = 32
    inpaint_lr: float = 3e-4
    inpaint_pool: int = 8192  # examples (scene, hole, conditioning) drawn once
    # the tiny latent decoder (hub/mini/fastvae.py): drafts' and previews' decode, distilled from the MoVQ
    fastvae_steps: int = 2000
    fastvae_batch: int = 32
    fastvae_lr: float = 2e-3
    fastvae_pool: int = 4096  # scenes encoded and decoded by the MoVQ once
    # --fastvae-from: continue the folder's own vae-fast/ instead of starting afresh (the bundled one's session-26 600
    # steps at lr 5e-4 and wide weight 0.5)
    fastvae_continue: bool = False
    fastvae_wide_weight: float = 0.15  # the 80x48 and 48x80 buckets' weight in the fastvae stage's draws
    # --tune-from (hub/mini/tune.py): a new language side against the locked image side, the decoder continued
    tune_text_steps: int = 4000
    tune_text_batch: int = 128  # scenes, each with its hard negative
    tune_prior_steps: int = 2500
    tune_text_layers: int = 3  # the new text tower's depth (ARCH's is 2): 3 generalised better to held-out phrasings
    tune_unet_steps: int = 1000
    tune_unet_schedule: int = 1500  # its cosine is 1500 steps long: the bundled tune stopped at 1000 for time
    tune_unet_lr: float = 3e-4
    # the decoder tune's loss on the latents that tell each object's shape from the shape most like it
    # (world.shape_cues: a square's corners against a circle) weighs 1 + this; 0: all latents alike. Measured in
    # session 19, decoder-only tunes of 1000 steps from the bundled mini: at 3 it drew shapes no better than at 0
    # (32 + 32 prompts, 2 images, en: 82.4 against 83.6% at 16:9, 82.4/84.0 at 9:16, 85.9/86.7 at 1:1)
    tune_shape_focus: float = 0.0
    # the decoder tune's 80x48 and 48x80 buckets' weight (bucket_weights below: 0.15 as the recipe, against the
    # square's 0.25 and 0.05 for each of the other ten); every --ar from 4:3 to 16:9, and their portraits, is one.
    # Session 23's tune ran at 0.35. (What else bounds shape there: the MoVQ itself gives back the shape of 94.7% of
    # objects at 80x48 and 48x80, 97.9% at 64x64, when it encodes and decodes the true scenes; continuing its decoder
    # half 800 steps on whole scenes, encoder locked, halved its loss and left those at 94.1% and 98.0%.)
    tune_wide_weight: float = 0.15
    tune_pool: int = 16384  # embedded scene pairs (text, prior) and the decoder's bucketed pool
    # a tuned decoder's draft, distilled again as the recipe's draft stage: the student starts from the tuned
    # decoder. Session 22: 600 steps from the fourth-tuned decoder drew shape 89.1/87.6% at 1:1 (en/es) where the
    # session-15 draft drew 84.0/83.9 beside it; session 19's 200 steps from the earlier draft drew 68.6/68.5
    tune_draft_steps: int = 600
    checkpoint_every: int = 500

    def scaled(self, factor: float) -> "TrainConfig":
        """The same recipe with every step count and pool multiplied (a smoke run takes a tiny fraction: two steps a
        stage, pools of tens of scenes); batches stay the recipe's."""

        def scale(k, v):
            if k.endswith("_steps") or (k.endswith("_schedule") and v):
                return max(2, int(v * factor))
            return max(64, int(v * factor)) if k.endswith("_pool") else v

        return TrainConfig(**{k: scale(k, v) for k, v in asdict(self).items()})


ARCH = TinyArch(
    width=64, max_length=32, prior_layers=4, vision_layers=3, vision_width=128, unet_channels=(64, 128, 128)
)


# The decoder's aspect-ratio buckets (as SDXL trains): each batch is one bucket's size, drawn with these weights.
# 80x48 and 48x80 are what --ar 4:3, 3:2, 5:3 and 16:9 (and their portraits) all give, so they get more.
def bucket_weights(wide: float = 0.15) -> dict[tuple[int, int], float]:
    """`wide`: the 80x48 and 48x80 buckets' weight before normalising (square 0.25, the rest 0.05 each)."""
    raw = {
        b: 0.25 if b == (world.SIZE, world.SIZE) else wide if b in ((80, 48), (48, 80)) else 0.05 for b in world.BUCKETS
    }
    total = sum(raw.values())
    return {b: w / total for b, w in raw.items()}


# fastvae comes last (stage_seed reads a stage's place here: the earlier stages keep the seeds they trained with)
STAGES = ("tokenizer", "clip", "prior", "movq", "unet", "draft", "inpaint", "text", "fastvae", "export")
NEEDS = {
    "prior": ("clip",),
    "unet": ("clip", "movq"),
    "draft": ("unet",),
    "inpaint": ("unet",),
    "fastvae": ("movq",),
    "export": STAGES[1:-1],
}


def stage_seed(seed: int, stage: str) -> int:
    """Each stage's own seed, so a stage draws the same scenes and noise whether the stages run one after another
    (the CPU recipe) or side by side in separate processes (`--stages`, on a machine with many cores)."""
    return seed * 1000 + STAGES.index(stage) + 1
