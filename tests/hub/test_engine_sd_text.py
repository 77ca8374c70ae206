"""Stable Diffusion and text engines on tiny random-weight components built here, offline."""

import numpy as np
import pytest
import torch
from PIL import Image

from hub.engines.common import ImageTask
from hub.loading import Placement

CPU = Placement("cpu", torch.float32, "none")


@pytest.fixture(scope="module")
def sd_engine(tmp_path_factory):
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from hub.engines.stable_diffusion import StableDiffusionEngine
    from hub.mini.tiny import TinyArch, make_tokenizer

    tok = make_tokenizer(tmp_path_factory.mktemp("sdtok"), TinyArch(max_length=16))
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
    )
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
    )
    text = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tok),
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=16,
            eos_token_id=tok.eos_token_id,
            bos_token_id=tok.bos_token_id,
        )
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text,
        tokenizer=tok,
        unet=unet,
        scheduler=DDIMScheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    return StableDiffusionEngine(dict(pipe.components, _class=type(pipe)), CPU)


def sd_task(**kw):
    base = dict(seeds=[3, 4], width=32, height=32, num_inference_steps=3, guidance_scale=5.0, parts=[("a cat", 1.0)])
    return ImageTask(**{**base, **kw})


def diff(a, b):
    return max(int(np.abs(np.asarray(x, int) - np.asarray(y, int)).max()) for x, y in zip(a, b))


def test_sd_seeds_batching_and_img2img(sd_engine):
    a, b = sd_task(), sd_task(seeds=[9], parts=[("a dog", 1.0)], negative_prompt="blur")
    solo = sd_engine.generate([a])[0] + sd_engine.generate([b])[0]
    assert diff(sum(sd_engine.generate([a, b]), []), solo) <= 1
    assert diff(sd_engine.generate([sd_task(seeds=[1])])[0], sd_engine.generate([sd_task(seeds=[2])])[0]) > 0
    init = Image.new("RGB", (32, 32), "blue")
    out = sd_engine.generate([sd_task(init_image=init, strength=0.5)])[0]
    assert len(out) == 2 and out[0].size == (32, 32)


def test_sd_img2img_and_inpainting_keep_a_non_square_size_and_the_kept_pixels(sd_engine):
    for width, height in ((48, 32), (32, 48)):
        init = Image.fromarray(np.random.default_rng(width).integers(0, 255, (height, width, 3), dtype=np.uint8))
        out = sd_engine.generate([sd_task(init_image=init, strength=0.5, width=width, height=height)])[0]
        assert [im.size for im in out] == [(width, height)] * 2
        mask = Image.new("L", (width, height), 0)
        mask.paste(255, (0, 0, width // 2, height // 2))
        edited = sd_engine.generate([sd_task(init_image=init, mask_image=mask, width=width, height=height)])[0]
        assert [im.size for im in edited] == [(width, height)] * 2
        kept = np.asarray(mask) < 128
        for im in edited:
            assert (np.asarray(im)[kept] == np.asarray(init)[kept]).all()
            assert (np.asarray(im)[~kept] != np.asarray(init)[~kept]).any()


def test_sd_refuses_mixing_with_a_clear_error(sd_engine):
    from hub.errors import CapabilityError

    with pytest.raises(CapabilityError, match="Kandinsky"):
        sd_engine.generate([sd_task(parts=[("a", 1.0), ("b", 2.0)])])


@pytest.fixture(scope="module")
def text_engine():
    from hub.engines.text import TextEngine
    from tests.conftest import tiny_chat

    model, tok = tiny_chat(["a red circle above a blue square", "what is a diffusion model?", "un círculo rojo"] * 30)
    return TextEngine(model, tok, CPU)


def test_chat_streams_with_the_chat_template_and_is_seeded(text_engine):
    seen = []
    msgs = [{"role": "user", "content": "what is a diffusion model?"}]
    reply = text_engine.generate(msgs, max_new_tokens=12, temperature=0.8, seed=1, on_text=seen.append)
    assert reply and seen and seen[-1].strip() == reply
    assert len(seen) >= 2 and all(seen[i + 1].startswith(seen[i][: len(seen[i]) - 2]) for i in range(len(seen) - 1))
    assert text_engine.generate(msgs, max_new_tokens=12, temperature=0.8, seed=1) == reply


def test_expand_and_cancel(text_engine):
    from hub.errors import Cancelled

    assert text_engine.expand("red circle", max_new_tokens=8, seed=0)
    with pytest.raises(Cancelled):
        text_engine.generate([{"role": "user", "content": "hi"}], max_new_tokens=8, should_stop=lambda: True)


def test_sd_inpainting_takes_the_tasks_strength(sd_engine):
    """A border started from the canvas part way (a model's outpaint_strength): diffusers' inpainting pipeline runs
    steps x strength of the steps, counted as such, and the kept pixels stay exact."""
    init = Image.fromarray(np.random.default_rng(7).integers(0, 255, (32, 32, 3), dtype=np.uint8))
    mask = Image.new("L", (32, 32), 255)
    mask.paste(0, (8, 8, 24, 24))
    for strength, steps in ((1.0, 6), (0.5, 3)):
        events = []
        t = sd_task(init_image=init, mask_image=mask, strength=strength, num_inference_steps=6)
        out = sd_engine.generate([t], progress=lambda *e: events.append(e))[0]
        assert [step for _, step, total, _ in events] == list(range(1, steps + 1)) and events[-1][2] == steps
        assert all((np.asarray(im)[8:24, 8:24] == np.asarray(init)[8:24, 8:24]).all() for im in out)
