"""The mini's training at a tiny scale: every stage, exported as loadable pipelines, resumed and refused. A file of
its own, so that `make test`'s workers (one file each at a time) share the slow tests."""

import pytest
import torch


@pytest.mark.slow
@pytest.mark.timeout(400)  # every stage at a tiny scale, the decoder's pool across 13 aspect buckets
def test_training_smoke_run_exports_loadable_pipelines_and_resumes(tmp_path):
    from diffusers import KandinskyV22Pipeline, KandinskyV22PriorPipeline
    from transformers import AutoModelForCausalLM, AutoTokenizer, CLIPTokenizer

    from hub.mini.recipe import TrainConfig
    from hub.mini.train import train

    from dataclasses import replace

    from tests.conftest import SMOKE_BATCHES

    cfg = replace(TrainConfig().scaled(0.002), **SMOKE_BATCHES)
    meta = train(tmp_path / "out", tmp_path / "work", cfg, threads=1)
    assert set(meta["seconds"]) >= {"clip", "prior", "movq", "unet", "draft", "inpaint", "text", "fastvae", "total"}
    from diffusers import LCMScheduler, UNet2DConditionModel

    draft = tmp_path / "out" / "decoder-draft"
    assert LCMScheduler.from_pretrained(draft / "scheduler").config.original_inference_steps == 50
    assert UNet2DConditionModel.from_pretrained(draft / "unet").config.out_channels == 8  # the decoder's own shape
    inpaint = UNet2DConditionModel.from_pretrained(tmp_path / "out" / "decoder-inpaint" / "unet")
    assert inpaint.config.in_channels == 9  # latents, masked image latents, mask: as diffusers' inpaint pipeline feeds
    from diffusers import AutoencoderTiny

    fast = AutoencoderTiny.from_pretrained(tmp_path / "out" / "vae-fast")  # the drafts' and previews' decoder
    assert fast.decode(torch.zeros(1, 4, 16, 16)).sample.shape == (1, 3, 64, 64)
    prior = KandinskyV22PriorPipeline.from_pretrained(
        tmp_path / "out" / "prior", local_files_only=True, dtype=torch.float32
    )  # as hub.loading does on a CPU
    decoder = KandinskyV22Pipeline.from_pretrained(
        tmp_path / "out" / "decoder", local_files_only=True, dtype=torch.float32
    )
    from safetensors import safe_open

    with safe_open(tmp_path / "out" / "decoder" / "unet" / "diffusion_pytorch_model.safetensors", "pt") as f:
        assert f.get_tensor(next(iter(f.keys()))).dtype == torch.float16  # stored fp16
    assert prior.prior.clip_std.abs().min() > 0  # set from data, not left at zero
    emb = prior("a red circle", num_inference_steps=2).image_embeds
    assert decoder(
        image_embeds=emb.float(),
        negative_image_embeds=emb.float() * 0,
        height=64,
        width=64,
        num_inference_steps=2,
        output_type="np",
    ).images.shape == (1, 64, 64, 3)
    tok = AutoTokenizer.from_pretrained(tmp_path / "out" / "text")
    assert tok.apply_chat_template([{"role": "user", "content": "red circle"}], tokenize=False) == "red circle ="
    assert AutoModelForCausalLM.from_pretrained(tmp_path / "out" / "text").config.n_layer == 3
    unet_file = tmp_path / "out" / "decoder" / "unet" / "diffusion_pytorch_model.safetensors"

    def vocabularies():  # the prior's CLIP tokenizer and mini-text's
        return (
            CLIPTokenizer.from_pretrained(tmp_path / "out" / "prior" / "tokenizer").get_vocab(),
            AutoTokenizer.from_pretrained(tmp_path / "out" / "text").get_vocab(),
        )

    before = unet_file.read_bytes(), vocabularies()
    again = train(tmp_path / "out", tmp_path / "work", cfg, threads=1)  # every stage done: resumes to the end
    assert again["seconds"] == meta["seconds"]  # the time each stage took to train, not to load
    assert (unet_file.read_bytes(), vocabularies()) == before  # the text models still read the ids they learnt
    from hub.errors import ConfigError

    longer = replace(TrainConfig().scaled(0.004), **SMOKE_BATCHES)
    with pytest.raises(
        ConfigError, match=rf"another recipe \(config\.clip_steps: {cfg.clip_steps} -> {longer.clip_steps}"
    ):
        train(tmp_path / "out", tmp_path / "work", longer, threads=1)  # not "already done"


def test_a_smoke_runs_pools_hold_tens_of_scenes_and_the_recipes_keep_their_sizes():
    """Each aspect bucket's share of a pool: a multiple of the quantum for the recipe (1920 scenes for most buckets of
    the UNet's 40960), a few scenes each for a smoke run's (once at least 64 a bucket: 832 scenes for two steps)."""
    from hub.mini.stage import MIN_BUCKET, bucket_share
    from hub.mini.recipe import TrainConfig, bucket_weights

    weights = bucket_weights()
    recipe = [bucket_share(TrainConfig().unet_pool, w, 64) for w in weights.values()]
    assert all(n % 64 == 0 for n in recipe) and sorted(set(recipe)) == [1920, 5824, 9728]
    smoke = TrainConfig().scaled(0.002)
    shares = [bucket_share(smoke.unet_pool, w, 64) for w in weights.values()]
    assert min(shares) == MIN_BUCKET and sum(shares) < 100
    assert bucket_share(4096, max(weights.values()), 16) == 976  # the fastvae pool's square bucket
