"""`lienzo train-mini`: train the miniature Kandinsky 2.2 on the shapes world, stage by stage.

Stages (each resumable from its checkpoint in the work folder, fixed seed, a progress bar each):
  tokenizer -> clip (contrastive over pictures and captions with drawn hard negatives, plus attribute heads)
  -> prior (text embedding -> image embedding, x0-prediction as Kandinsky's prior)
  -> movq (autoencoder on 32x32 crops of scenes at every aspect; latent statistics folded into its convs)
  -> unet (v-prediction on normalised MoVQ latents in aspect-ratio buckets, conditioned on the CLIP image
     embedding of the same scene drawn square)
  -> draft (the UNet distilled to a few steps with its guidance built in: hub/mini/distil.py)
  -> inpaint (the UNet widened to 9 input channels and taught to fill holes: hub/mini/inpaint.py)
  -> text (mini-text: a tiny GPT that expands "red circle" into a full scene description)
  -> fastvae (a tiny latent decoder distilled from the MoVQ, for drafts and previews: hub/mini/fastvae.py)
  -> export (diffusers/transformers folders: prior/, decoder/, decoder-draft/, decoder-inpaint/, text/, vae-fast/,
     fp16)

The recipe (settings, architecture, stage order and seeds) is hub/mini/recipe.py; the scenes, tokens and latent
pools each stage draws, hub/mini/data.py; the later stages run alone on a trained folder, hub/mini/from_folder.py.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from hub.mini import world
from hub.mini.data import (
    AttributeHeads,
    Batches,
    _as_input,
    _device,
    clip_batch,
    clip_pixels,
    image_embeds,
    latent_pool,
    pixels,
    prior_batch,
    zero_image_embed,
)
from hub.mini.distil import distil_decoder, save_draft
from hub.mini.fastvae import FOLDER as FASTVAE
from hub.mini.fastvae import fastvae_pool, save_fastvae, train_fastvae
from hub.mini.inpaint import inpaint_pool, save_inpaint, train_inpaint
from hub.mini.minitext import train_text
from hub.mini.recipe import ARCH, NEEDS, STAGES, TrainConfig, bucket_weights, stage_seed
from hub.mini.stage import BucketPool, Stage, cosine_lr, default_workers, optimise, prefetch
from hub.mini.tiny import decoder_components, prior_components


# --- stages -------------------------------------------------------------------------------------


def train_clip(work, cfg, comps, workers=0):
    text, vision = comps["text_encoder"], comps["image_encoder"]
    dev = _device(text)
    heads = AttributeHeads(ARCH.width, cfg.shape_weight).to(dev)
    params = list(text.parameters()) + list(vision.parameters()) + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01)
    stage = Stage(
        work, "clip", {"text": text, "vision": vision, "heads": heads}, opt, cfg.clip_steps, cfg.checkpoint_every
    )
    if stage.finished:
        return
    text.train(), vision.train()
    data = prefetch(partial(clip_batch, cfg, str(work / "tokenizer")), stage.step, cfg.clip_steps, workers)
    for step, batch in zip(stage.loop(), data):
        cosine_lr(opt, step, cfg.clip_steps, cfg.lr)
        ids, mask = batch["ids"].to(dev), batch["mask"].to(dev)
        t = F.normalize(text(input_ids=ids, attention_mask=mask).text_embeds, dim=-1)
        raw = vision(pixel_values=clip_pixels(_as_input(batch["pixels"], dev))).image_embeds
        v = F.normalize(raw, dim=-1)
        logits = heads.logit_scale.exp().clamp(max=100) * v @ t.T  # (2B, 2B): pictures and captions, negatives too
        labels = torch.arange(len(ids), device=dev)
        contrastive = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
        aux = heads.loss(raw, {k: v.to(dev) for k, v in batch["labels"].items()})
        loss = contrastive + cfg.aux_weight * aux
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            tqdm.write(f"clip {step}: contrastive {contrastive.item():.3f} attributes {aux.item():.3f}")
    text.eval(), vision.eval()


def train_prior(work, cfg, comps, batches, workers=0):
    prior, text, vision, sched = comps["prior"], comps["text_encoder"], comps["image_encoder"], comps["scheduler"]
    dev = _device(prior)
    opt = torch.optim.AdamW(prior.parameters(), lr=cfg.lr, weight_decay=0.0)
    stage = Stage(work, "prior", {"prior": prior}, opt, cfg.prior_steps, cfg.checkpoint_every)
    if stage.finished:
        return
    if stage.step == 0:  # clip_mean/clip_std from data: the prior works on standardised embeddings
        embs = torch.cat([image_embeds(vision, pixels(batches.scenes(256), device=dev)) for _ in range(8)])
        prior.clip_mean.data.copy_(embs.mean(0, keepdim=True))
        prior.clip_std.data.copy_(embs.std(0, keepdim=True).clamp(min=1e-4))
    alphas = sched.alphas_cumprod.to(dev)
    prior.train()
    data = prefetch(partial(prior_batch, cfg, str(work / "tokenizer")), stage.step, cfg.prior_steps, workers)
    for step, batch in zip(stage.loop(), data):
        cosine_lr(opt, step, cfg.prior_steps, cfg.lr)
        ids, mask = batch["ids"].to(dev), batch["mask"].to(dev)
        with torch.no_grad():
            out = text(ids)
            x0 = (image_embeds(vision, _as_input(batch["pixels"], dev)) - prior.clip_mean) / prior.clip_std
        t = torch.randint(0, len(alphas), (len(ids),)).to(dev)
        noise = torch.randn(x0.shape).to(dev)
        loss = prior_step(prior, opt, alphas, x0, out, mask, t, noise)
        if step % 200 == 0:
            tqdm.write(f"prior {step}: loss {loss.item():.4f}")
    prior.eval()


def prior_step(prior, opt, alphas, x0, text_out, mask, t, noise) -> torch.Tensor:
    """One step of the prior's x0-prediction on standardised image embeddings `x0`, as Kandinsky's prior."""
    a = alphas[t].unsqueeze(1)
    xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
    pred = prior(
        xt,
        timestep=t,
        proj_embedding=text_out.text_embeds,
        encoder_hidden_states=text_out.last_hidden_state,
        attention_mask=mask.bool(),
    ).predicted_image_embedding
    loss = F.mse_loss(pred, x0)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(prior.parameters(), 1.0)
    opt.step()
    return loss


def train_movq(work, cfg, movq, batches):
    opt = torch.optim.AdamW(movq.parameters(), lr=cfg.lr)
    stage = Stage(work, "movq", {"movq": movq}, opt, cfg.movq_steps, cfg.checkpoint_every)
    if stage.finished:
        return
    dev = _device(movq)
    buckets = list(world.BUCKETS)
    movq.train()
    for step in stage.loop():
        cosine_lr(opt, step, cfg.movq_steps, cfg.lr)
        width, height = random.choice(buckets)  # scenes at every aspect, 32x32 crops on the latent grid
        x = pixels(batches.scenes(cfg.movq_batch, (width, height)), device=dev)
        i, j = random.randrange(0, height - 31, 4), random.randrange(0, width - 31, 4)
        x = x[:, :, i : i + 32, j : j + 32]
        h = movq.encode(x).latents
        rec = movq.decode(h, force_not_quantize=True).sample
        loss = F.l1_loss(rec, x) + F.mse_loss(rec, x) + 1e-4 * h.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 200 == 0:
            tqdm.write(f"movq {step}: loss {loss.item():.4f}")
    movq.eval()


@torch.no_grad()
def fold_latent_stats(movq, batches) -> None:
    """Make the MoVQ's latents zero-mean, unit-variance per channel, exactly, by rescaling its convs.

    The decoder pipeline calls decode(latents, force_not_quantize=True) with no scaling factor, and the
    spatial norms read the latents directly, so quant_conv, post_quant_conv and every SpatialNorm's
    conv_y/conv_b are rewritten for z = (h - mean) / std.
    """
    from diffusers.models.attention_processor import SpatialNorm

    h = torch.cat([movq.encode(pixels(batches.scenes(64), device=_device(movq))).latents for _ in range(4)])
    mean, std = h.mean((0, 2, 3)), h.std((0, 2, 3)).clamp(min=1e-4)
    qc = movq.quant_conv
    qc.weight.div_(std.view(-1, 1, 1, 1))
    qc.bias.sub_(mean).div_(std)

    def feed_z(conv):  # conv(h) == conv'(z) with h = z * std + mean
        conv.bias.add_((conv.weight.sum((2, 3)) * mean.view(1, -1)).sum(1))
        conv.weight.mul_(std.view(1, -1, 1, 1))

    feed_z(movq.post_quant_conv)
    for m in movq.decoder.modules():
        if isinstance(m, SpatialNorm):
            feed_z(m.conv_y)
            feed_z(m.conv_b)


def train_unet(work, cfg, unet, movq, vision, sched, zero_embed, batches, name="unet", weights=None):
    """`weights`: the aspect buckets' (recipe.bucket_weights() when None), for the pool's sizes and the draws."""
    from diffusers.training_utils import EMAModel

    opt = torch.optim.AdamW(unet.parameters(), lr=cfg.unet_lr, weight_decay=0.01)
    ema = EMAModel(unet.parameters(), decay=0.999)
    stage = Stage(
        work, name, {"unet": unet}, opt, cfg.unet_steps, cfg.checkpoint_every, extra=lambda: {"ema": ema.state_dict()}
    )
    if "ema" in stage.state:
        ema.load_state_dict(stage.state["ema"])
    if stage.finished:
        ema.copy_to(unet.parameters())
        return
    dev = _device(unet)
    focus = cfg.tune_shape_focus  # a from-scratch recipe has none; a tune may (see TrainConfig)
    weights = weights or bucket_weights()
    pool = BucketPool(latent_pool(work, cfg, movq, vision, batches, cues=focus > 0, weights=weights), weights, dev)
    alphas = sched.alphas_cumprod.to(dev)
    v_pred = sched.config.prediction_type == "v_prediction"  # see tiny.decoder_components
    # The noise-prediction loss's weighting over timesteps, written for v. Min-SNR (Hang et al. 2023,
    # `min_snr` > 0) takes weight off the near-clean steps; here those steps draw the corners that tell a
    # square from a circle and a star from a triangle: continuing the decoder 1500 steps without the clamp
    # lifted shape on true embeddings from 76% to 83%, with it only to 80%.
    snr = alphas / (1 - alphas)  # on the device, as alphas
    weight = (snr.clamp(max=cfg.min_snr) if cfg.min_snr else snr) / (snr + 1 if v_pred else snr)
    unet.train()
    for step in stage.loop():
        cosine_lr(opt, step, cfg.unet_schedule or cfg.unet_steps, cfg.unet_lr)
        z0, emb, *cues = pool.draw(cfg.unet_batch)  # one aspect-ratio bucket a batch
        n = len(z0)
        # The decoder meets the prior's embeddings, not the pictures' own: noise of a random strength (up to
        # cond_noise of the embedding's norm) teaches it to draw from an embedding that is only near a true one.
        # Continuing the decoder so lifted shape through the whole pipeline from 76% to 79%.
        strength = cfg.cond_noise * torch.rand(n, 1)
        cond_noise = torch.randn(emb.shape)
        drop = torch.rand(n) < cfg.cond_drop
        t = torch.randint(0, len(alphas), (n,))
        noise = torch.randn(z0.shape)  # every draw on the CPU generator: the same numbers on any device
        strength, cond_noise, drop, t, noise = (x.to(dev) for x in (strength, cond_noise, drop, t, noise))
        emb = emb + strength * emb.norm(dim=1, keepdim=True) / emb.shape[1] ** 0.5 * cond_noise
        emb[drop] = zero_embed  # the decoder's unconditional embedding is exactly the zero-image one
        a = alphas[t].view(-1, 1, 1, 1)
        zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
        pred = unet(zt, t, encoder_hidden_states=None, added_cond_kwargs={"image_embeds": emb}).sample
        target = a.sqrt() * noise - (1 - a).sqrt() * z0 if v_pred else noise
        err = (pred[:, : z0.shape[1]] - target).pow(2)  # only the first half: variance is unused
        if focus:  # the latents that tell a shape weigh 1 + focus (see TrainConfig.tune_shape_focus)
            err = err * (1 + focus * cues[0].float())
        err = err.mean((1, 2, 3))
        loss = (weight[t] * err).mean()
        optimise(opt, unet, loss, ema)
        if step % 200 == 0:
            tqdm.write(f"unet {step}: loss {loss.item():.4f}")
    ema.copy_to(unet.parameters())
    unet.eval()


# --- the whole run ------------------------------------------------------------------------------
def _same_recipe(work: Path, cfg: TrainConfig) -> None:
    """A work folder resumes only the recipe it started with: a finished 2-step smoke stage must not pass for a
    trained one. The recipe is written on the first run and checked on every later one."""
    from hub.errors import ConfigError

    recipe = json.loads(json.dumps({"config": asdict(cfg), "arch": asdict(ARCH)}))  # tuples as JSON reads them back
    path = work / "recipe.json"
    if not path.exists():
        path.write_text(json.dumps(recipe, indent=2) + "\n")
        return
    before = json.loads(path.read_text())
    changed = sorted(
        f"{part}.{k}: {before.get(part, {}).get(k)} -> {v}"
        for part, values in recipe.items()
        for k, v in values.items()
        if before.get(part, {}).get(k) != v
    )
    if changed:
        raise ConfigError(
            f"the work folder {str(work)!r} holds a run of another recipe ({'; '.join(changed)}); "
            "give a new --work folder, or delete this one to start over"
        )


def _fresh(stage: str, cfg: TrainConfig) -> Batches:
    random.seed(stage_seed(cfg.seed, stage))
    torch.manual_seed(stage_seed(cfg.seed, stage))
    return Batches(stage_seed(cfg.seed, stage))


def train(
    out_dir: Path,
    work: Path,
    cfg: TrainConfig = TrainConfig(),
    threads: int | None = None,
    device: str | None = None,
    stages: tuple[str, ...] = STAGES,
) -> dict:
    """The stages named (all by default: the whole recipe), each resumable, on `device` (default: a CUDA GPU when
    there is one, else the CPU). A stage needs the ones it builds on finished first (NEEDS); independent ones
    (clip, movq and text; then prior beside unet) can run at once in separate processes on the same work folder.
    """
    from diffusers import KandinskyV22Pipeline, KandinskyV22PriorPipeline

    from hub.errors import ConfigError

    if threads:
        torch.set_num_threads(threads)
    work.mkdir(parents=True, exist_ok=True)
    _same_recipe(work, cfg)
    for name in stages:
        missing = [n for n in NEEDS.get(name, ()) if n not in stages[: stages.index(name)] and not _finished(work, n)]
        if missing:
            raise ConfigError(f"stage {name!r} needs {', '.join(missing)} finished first (run those stages before it)")
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    tok = train_tokenizer(work, cfg)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    prior_parts = prior_components(tok, ARCH, cfg.seed)
    decoder_parts = decoder_components(ARCH, cfg.seed)
    for part in list(prior_parts.values()) + list(decoder_parts.values()):
        if isinstance(part, torch.nn.Module):
            part.to(dev)
    movq, vision, sched = decoder_parts["movq"], prior_parts["image_encoder"], decoder_parts["scheduler"]
    wanted = set(stages)

    def run(name: str, fn):  # train a wanted stage; only load a finished one that a later wanted stage reads
        if name not in wanted and not _finished(work, name):
            return None
        start = time.perf_counter()
        out = fn(_fresh(name, cfg))
        if name in wanted and not (work / f"{name}.seconds").exists():
            (work / f"{name}.seconds").write_text(f"{time.perf_counter() - start:.1f}\n")
        return out

    def movq_stage(batches):
        train_movq(work, cfg, movq, batches)
        if not (work / "movq-folded.pt").exists():
            fold_latent_stats(movq, Batches(cfg.seed + 1))
            torch.save(movq.state_dict(), work / "movq-folded.pt")
        movq.load_state_dict(torch.load(work / "movq-folded.pt", map_location="cpu"))

    workers = default_workers(dev)
    run("clip", lambda b: train_clip(work, cfg, prior_parts, workers))
    run("prior", lambda b: train_prior(work, cfg, prior_parts, b, workers))
    run("movq", movq_stage)
    zero = zero_image_embed(vision)
    run("unet", lambda b: train_unet(work, cfg, decoder_parts["unet"], movq, vision, sched, zero, b))
    pool = lambda: BucketPool(  # noqa: E731  the UNet stage's scenes (kept in the work folder)
        latent_pool(work, cfg, movq, vision, Batches(stage_seed(cfg.seed, "unet"))), bucket_weights(), dev
    )
    draft = run("draft", lambda b: distil_decoder(work, cfg, decoder_parts["unet"], sched, pool(), zero))

    def inpaint_stage(batches):
        embed = partial(image_embeds, vision)
        pools = inpaint_pool(work, movq, embed, stage_seed(cfg.seed, "inpaint"), cfg.inpaint_pool, bucket_weights())
        return train_inpaint(work, cfg, decoder_parts["unet"], sched, pools, bucket_weights(), zero)

    inpaint = run("inpaint", inpaint_stage)
    fastvae = run(
        "fastvae",
        lambda b: train_fastvae(
            work,
            cfg,
            fastvae_pool(work, movq, b, cfg.fastvae_pool, bucket_weights(), pixels),
            bucket_weights(cfg.fastvae_wide_weight),
            dev,
        ),
    )
    if "text" in wanted:
        out_dir.mkdir(parents=True, exist_ok=True)
        run("text", lambda b: train_text(work, cfg, out_dir, b, dev))
    if "export" not in wanted:
        return {"stages": [s for s in STAGES if _finished(work, s)]}

    out_dir.mkdir(parents=True, exist_ok=True)
    if "text" not in wanted:  # trained in another process: its folder is written from the checkpoint
        train_text(work, cfg, out_dir, None, dev)
    for part in list(prior_parts.values()) + list(decoder_parts.values()):
        if isinstance(part, torch.nn.Module):
            part.cpu().half()  # stored fp16 (loaded back as fp32 on CPU: fp16 on a CPU is ~13x slower)
    KandinskyV22PriorPipeline(**prior_parts).save_pretrained(out_dir / "prior", safe_serialization=True)
    KandinskyV22Pipeline(**decoder_parts).save_pretrained(out_dir / "decoder", safe_serialization=True)
    save_draft(draft.cpu(), sched.config, out_dir / "decoder-draft")
    save_inpaint(inpaint.cpu(), out_dir / "decoder-inpaint")
    save_fastvae(fastvae.cpu(), out_dir / FASTVAE)
    times = {s: float((work / f"{s}.seconds").read_text()) for s in STAGES if (work / f"{s}.seconds").exists()}
    times["total"] = round(sum(times.values()), 1)
    meta = {"config": asdict(cfg), "arch": asdict(ARCH), "seconds": times, **run_facts(dev)}
    (out_dir / "training.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def train_tokenizer(work: Path, cfg: TrainConfig):
    """The CLIP BPE on canonical and varied captions (or, resuming, the one trained before: its ids were learnt)."""
    from hub.mini.tokenizer import load_clip_bpe, train_clip_bpe

    if (work / "tokenizer" / "vocab.json").exists():
        return load_clip_bpe(work / "tokenizer", max_length=ARCH.max_length)
    corpus_rng = random.Random(cfg.seed)
    scenes = [world.sample_scene(corpus_rng) for _ in range(4000)]
    corpus = [s.caption(lang) for s in scenes for lang in ("en", "es")]
    corpus += [world.phrase(s, lang, corpus_rng) for s in scenes for lang in ("en", "es") for _ in range(2)]
    corpus += ["0 1 2 3 4 5 6 7 8 9 . , ! ? : ; - ' \" ( )"] * 20
    return train_clip_bpe(corpus, work / "tokenizer", vocab_size=ARCH.vocab_size, max_length=ARCH.max_length)


def run_facts(dev: torch.device) -> dict:
    """Where and when a training ran, for training.json."""
    return {
        "threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
        "torch": torch.__version__,
    }


def _finished(work: Path, stage: str) -> bool:
    if stage == "tokenizer":
        return (work / "tokenizer" / "vocab.json").exists()
    if stage == "movq":
        return (work / "movq-folded.pt").exists()
    return (work / f"{stage}.done").exists()
