"""Later stages run alone on a model trained earlier (`lienzo train-mini --draft-from / --fastvae-from /
--inpaint-from FOLDER`): the folder is loaded the way Lienzo runs it (hub.loading), the stage trains on fresh scenes,
and its part is written back into the folder."""

from __future__ import annotations

import random
import time
from functools import partial
from pathlib import Path

import torch

from hub.mini.data import Batches, _device, image_embeds, latent_pool, pixels, zero_image_embed
from hub.mini.distil import distil_decoder, save_draft
from hub.mini.fastvae import FOLDER as FASTVAE
from hub.mini.fastvae import fastvae_pool, save_fastvae, train_fastvae
from hub.mini.inpaint import inpaint_pool, save_inpaint, train_inpaint
from hub.mini.recipe import TrainConfig, bucket_weights
from hub.mini.stage import BucketPool


def draft_from(folder: Path, work: Path, cfg: TrainConfig, settings=None, init=None) -> dict:
    """The draft stage alone on a model trained earlier (`lienzo train-mini --draft-from FOLDER`): its decoder
    distilled on `cfg.draft_pool` fresh scenes (seed + 2, latents kept in fp16), written to FOLDER/decoder-draft.
    The folder is loaded the way Lienzo runs it (hub.loading), on this machine's device."""
    from hub import catalog
    from hub.loading import Loader
    from hub.settings import Settings

    settings = (settings or Settings.from_env()).with_(mini_weights=folder)
    weights = Loader(settings).kandinsky(catalog.get("mini"))
    teacher, sched, movq = (weights.decoder[k] for k in ("unet", "scheduler", "movq"))
    vision = weights.prior["image_encoder"]
    dev = _device(teacher)
    for m in (teacher, movq, vision):
        m.float().eval().to(dev)
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    zero = zero_image_embed(vision)
    pools = latent_pool(work, cfg, movq, vision, Batches(cfg.seed + 2), cfg.draft_pool, "draft-pool", torch.float16)
    start = time.perf_counter()
    weights = bucket_weights(cfg.draft_wide_weight)
    student = distil_decoder(work, cfg, teacher, sched, BucketPool(pools, weights, dev), zero, init)
    took = round(time.perf_counter() - start, 1)
    save_draft(student.cpu(), sched.config, folder / "decoder-draft")
    return {
        "draft_seconds": took,
        "steps": cfg.draft_steps,
        "batch": cfg.draft_batch,
        "wide_weight": cfg.draft_wide_weight,
        "threads": torch.get_num_threads(),
    }


def fastvae_from(folder: Path, work: Path, cfg: TrainConfig, settings=None) -> dict:
    """The fastvae stage alone on a model trained earlier (`lienzo train-mini --fastvae-from FOLDER`): a tiny
    latent decoder distilled from FOLDER's MoVQ on `cfg.fastvae_pool` fresh scenes (seed + 4), written to
    FOLDER/vae-fast. Loaded the way Lienzo runs it (hub.loading)."""
    from hub import catalog
    from hub.loading import Loader
    from hub.settings import Settings

    settings = (settings or Settings.from_env()).with_(mini_weights=folder)
    loaded = Loader(settings).kandinsky(catalog.get("mini"))
    movq = loaded.decoder["movq"]
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    movq.float().eval().to(dev)
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed + 4)
    random.seed(cfg.seed + 4)
    start = time.perf_counter()
    init = None
    if cfg.fastvae_continue:
        if loaded.fast_vae is None:
            from hub.errors import ConfigError

            raise ConfigError(f"--set fastvae_continue=true: the folder has no {FASTVAE}/ to continue; leave it out")
        init = loaded.fast_vae.float()  # loaded the way Lienzo runs it (hub.loading)
    pools = fastvae_pool(work, movq, Batches(cfg.seed + 4), cfg.fastvae_pool, bucket_weights(), pixels)
    vae = train_fastvae(work, cfg, pools, bucket_weights(cfg.fastvae_wide_weight), dev, init)
    took = round(time.perf_counter() - start, 1)
    save_fastvae(vae.cpu(), folder / FASTVAE)
    return {
        "fastvae_seconds": took,
        "steps": cfg.fastvae_steps,
        "batch": cfg.fastvae_batch,
        "pool": cfg.fastvae_pool,
        "wide_weight": cfg.fastvae_wide_weight,
        "continued": cfg.fastvae_continue,
        "threads": torch.get_num_threads(),
    }


def inpaint_from(folder: Path, work: Path, cfg, settings=None) -> dict:
    """The inpaint stage alone on a model trained earlier: FOLDER's decoder taught to inpaint on `cfg.inpaint_pool`
    fresh examples, written to FOLDER/decoder-inpaint. Loaded the way Lienzo runs it (hub.loading)."""
    from hub import catalog
    from hub.loading import Loader
    from hub.settings import Settings

    settings = (settings or Settings.from_env()).with_(mini_weights=folder)
    weights = Loader(settings).kandinsky(catalog.get("mini"))
    decoder, sched, movq = (weights.decoder[k] for k in ("unet", "scheduler", "movq"))
    vision = weights.prior["image_encoder"]
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    for m in (decoder, movq, vision):
        m.float().eval().to(dev)
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed + 3)
    zero = zero_image_embed(vision)
    start = time.perf_counter()
    pools = inpaint_pool(work, movq, partial(image_embeds, vision), cfg.seed + 3, cfg.inpaint_pool, bucket_weights())
    unet = train_inpaint(work, cfg, decoder, sched, pools, bucket_weights(), zero)
    took = round(time.perf_counter() - start, 1)
    save_inpaint(unet.cpu(), folder / "decoder-inpaint")
    return {
        "inpaint_seconds": took,
        "steps": cfg.inpaint_steps,
        "batch": cfg.inpaint_batch,
        "pool": cfg.inpaint_pool,
        "threads": torch.get_num_threads(),
    }
