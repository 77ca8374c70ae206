"""Tiny Kandinsky 2.2 components: the real diffusers/transformers classes at miniature sizes.

Used three ways: by the tests (random weights, `torch.manual_seed(0)`), as the clearly labelled
*untrained placeholder* that `mini` falls back to where its trained weights are missing, and as the
architecture the `mini` training starts from. Sizes that must agree:
tokenizer max length = text positions = prior `num_embeddings`; CLIP width = projection = prior
`embedding_dim` = UNet `encoder_hid_dim`; UNet out = 2 x in channels; MoVQ channels multiples of 32.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

PLACEHOLDER_MARK = "PLACEHOLDER.txt"

# A small corpus so the tokenizer knows the words people try first, in English and Spanish.
_WORDS = (
    "a an the of on in with and above below left right top bottom centre center small large big tiny "
    "red green blue yellow orange purple black white pink brown grey gray cyan "
    "circle square triangle star heart cross ring diamond background photo painting drawing of cat dog "
    "un una el la los las de del en con y encima debajo izquierda derecha arriba abajo centro pequeño grande "
    "rojo roja verde azul amarillo amarilla naranja morado morada negro negra blanco blanca rosa "
    "círculo cuadrado triángulo estrella corazón fondo sobre a la"
)


@dataclass(frozen=True)
class TinyArch:
    width: int = 64  # CLIP hidden = projection = prior embedding_dim = UNet encoder_hid_dim
    max_length: int = 32  # tokens, including start and end
    vocab_size: int = 600
    text_layers: int = 2
    vision_layers: int = 2
    vision_width: int | None = None  # the vision tower's hidden size (its projection is `width`); None: `width`
    image_size: int = 64  # CLIP vision input and the default output size
    patch_size: int = 8
    prior_layers: int = 2
    prior_heads: int = 2
    unet_channels: tuple[int, ...] = (32, 64, 64)
    movq_channels: tuple[int, ...] = (32, 64, 64)  # len 3: two downsamplings, 64 px -> 16x16 latents
    latent_channels: int = 4


def make_tokenizer(out_dir: str | Path, arch: TinyArch = TinyArch()):
    from hub.mini.tokenizer import train_clip_bpe

    lines = [_WORDS, _WORDS.upper(), "0 1 2 3 4 5 6 7 8 9 . , ! ? : ; - ' \" ( )"]
    return train_clip_bpe(lines * 20, out_dir, vocab_size=arch.vocab_size, max_length=arch.max_length)


def prior_components(tokenizer, arch: TinyArch = TinyArch(), seed: int = 0) -> dict:
    from diffusers import PriorTransformer, UnCLIPScheduler
    from transformers import (
        CLIPTextConfig,
        CLIPTextModelWithProjection,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
    )

    try:  # transformers 5 without torchvision: the PIL image processor, named so it does not warn
        from transformers import CLIPImageProcessorPil as CLIPImageProcessor
    except ImportError:
        from transformers import CLIPImageProcessor

    torch.manual_seed(seed)
    text_encoder = CLIPTextModelWithProjection(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=arch.width,
            intermediate_size=2 * arch.width,
            num_hidden_layers=arch.text_layers,
            num_attention_heads=2,
            max_position_embeddings=arch.max_length,
            projection_dim=arch.width,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    vision_width = arch.vision_width or arch.width
    image_encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=vision_width,
            intermediate_size=2 * vision_width,
            num_hidden_layers=arch.vision_layers,
            num_attention_heads=max(2, vision_width // 32),
            image_size=arch.image_size,
            patch_size=arch.patch_size,
            projection_dim=arch.width,
        )
    )
    prior = PriorTransformer(
        num_attention_heads=arch.prior_heads,
        attention_head_dim=arch.width // arch.prior_heads,
        embedding_dim=arch.width,
        num_layers=arch.prior_layers,
        num_embeddings=arch.max_length,
    )
    # clip_mean/clip_std start at 0, which makes the prior's output constant: use unit statistics.
    prior.clip_std.data.fill_(1.0)
    scheduler = UnCLIPScheduler(
        variance_type="fixed_small_log",
        prediction_type="sample",
        num_train_timesteps=1000,
        clip_sample=True,
        clip_sample_range=10.0,
    )
    image_processor = CLIPImageProcessor(  # squeezed to a square, not cropped: see square_image_processor
        size={"height": arch.image_size, "width": arch.image_size},
        crop_size={"height": arch.image_size, "width": arch.image_size},
        do_resize=True,
        do_center_crop=False,
        do_normalize=True,
        resample=3,
        image_mean=[0.48145466, 0.4578275, 0.40821073],
        image_std=[0.26862954, 0.26130258, 0.27577711],
    )
    return dict(
        prior=prior,
        image_encoder=image_encoder,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        image_processor=image_processor,
    )


def decoder_components(arch: TinyArch = TinyArch(), seed: int = 0) -> dict:
    from diffusers import DDPMScheduler, UNet2DConditionModel, VQModel

    torch.manual_seed(seed)
    n = len(arch.unet_channels)
    unet = UNet2DConditionModel(
        sample_size=arch.image_size // 2 ** (len(arch.movq_channels) - 1),
        in_channels=arch.latent_channels,
        out_channels=2 * arch.latent_channels,
        down_block_types=("ResnetDownsampleBlock2D",) + ("SimpleCrossAttnDownBlock2D",) * (n - 1),
        up_block_types=("SimpleCrossAttnUpBlock2D",) * (n - 1) + ("ResnetUpsampleBlock2D",),
        mid_block_type="UNetMidBlock2DSimpleCrossAttn",
        block_out_channels=arch.unet_channels,
        layers_per_block=1,
        encoder_hid_dim=arch.width,
        encoder_hid_dim_type="image_proj",
        addition_embed_type="image",
        cross_attention_dim=arch.unet_channels[-1],
        attention_head_dim=16,
        resnet_time_scale_shift="scale_shift",
        class_embed_type=None,
        norm_num_groups=32,
    )
    m = len(arch.movq_channels)
    movq = VQModel(
        in_channels=3,
        out_channels=3,
        latent_channels=arch.latent_channels,
        vq_embed_dim=arch.latent_channels,
        block_out_channels=arch.movq_channels,
        layers_per_block=1,
        norm_num_groups=32,
        norm_type="spatial",
        num_vq_embeddings=256,
        sample_size=arch.image_size,
        down_block_types=("DownEncoderBlock2D",) * (m - 1) + ("AttnDownEncoderBlock2D",),
        up_block_types=("AttnUpDecoderBlock2D",) + ("UpDecoderBlock2D",) * (m - 1),
    )
    # Kandinsky 2.2's betas, but v-prediction and trailing timesteps: with epsilon-prediction the tiny UNet
    # all but ignored the image embedding at high noise (its x0 guess at t=999 was worse than zero), so the
    # seed's noise, not the prompt, picked the background and colours; and "leading" spacing starts
    # sampling at t=961, where the model expects signal that pure noise does not have.
    scheduler = DDPMScheduler(
        num_train_timesteps=1000,
        beta_schedule="linear",
        beta_start=0.00085,
        beta_end=0.012,
        clip_sample=False,
        steps_offset=0,
        prediction_type="v_prediction",
        timestep_spacing="trailing",
        thresholding=False,
    )
    return dict(unet=unet, scheduler=scheduler, movq=movq)


def save_placeholder(root: str | Path, arch: TinyArch = TinyArch(), seed: int = 0) -> Path:
    """Write an untrained, random-weight Kandinsky folder (prior/, decoder/, decoder-inpaint/, vae-fast/) that says
    what it is."""
    from diffusers import KandinskyV22Pipeline, KandinskyV22PriorPipeline

    root = Path(root)
    tmp = root.with_name(root.name + ".partial")
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        tok = make_tokenizer(scratch, arch)
    KandinskyV22PriorPipeline(**prior_components(tok, arch, seed)).save_pretrained(tmp / "prior")
    decoder = decoder_components(arch, seed)
    KandinskyV22Pipeline(**decoder).save_pretrained(tmp / "decoder")
    widened_unet(decoder["unet"]).save_pretrained(tmp / "decoder-inpaint" / "unet")
    from hub.mini.fastvae import FOLDER, new_fastvae

    torch.manual_seed(seed)
    new_fastvae(arch.latent_channels).save_pretrained(tmp / FOLDER)
    (tmp / PLACEHOLDER_MARK).write_text(
        "UNTRAINED PLACEHOLDER: random weights with the architecture of Lienzo's mini Kandinsky.\n"
        "It runs the real pipeline end to end but draws noise-like colour fields, not what you ask for.\n"
        "It stands in until trained weights are bundled in hub/mini/weights.\n",
        encoding="utf-8",
    )
    if root.exists():
        import shutil

        shutil.rmtree(root)
    tmp.rename(root)
    return root


def square_image_processor(processor, side: int):
    """A picture of any aspect squeezed to `side` x `side` rather than cropped to its middle: the mini's image
    embedding is of the scene drawn square (positions as fractions of the picture), and a centre crop of a 16:9
    picture would cut off what stands on its left and right."""
    processor.size = {"height": side, "width": side}
    processor.do_center_crop = False
    return processor


def widened_unet(unet):
    """The decoder UNet with 9 input channels: its own conv_in for the latents, zeros for the rest."""
    from diffusers import UNet2DConditionModel

    config = {**dict(unet.config), "in_channels": 9}
    config.pop("_name_or_path", None)
    new = UNet2DConditionModel.from_config(config).to(device=unet.device, dtype=unet.dtype)
    state = unet.state_dict()
    weight = state["conv_in.weight"]
    wide = torch.zeros(weight.shape[0], 9, *weight.shape[2:], dtype=weight.dtype, device=weight.device)
    wide[:, : weight.shape[1]] = weight
    state["conv_in.weight"] = wide
    new.load_state_dict(state)
    return new
