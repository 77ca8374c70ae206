"""PNG info as other tools read it: A1111's documented format, `sd-parsers` (a reader Lienzo did not write), and
ComfyUI's and InvokeAI's metadata read back by the PNG-info tab."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from PIL import Image, PngImagePlugin
from sd_parsers import ParserManager

from hub.pnginfo import read_parameters
from hub.types import ImagineRequest, MixItem, MixRequest, UpscaleRequest, VaryRequest
from tests.conftest import run

# A1111's infotext, as its wiki documents it: the prompt lines, then "Negative prompt:" lines, then one line of
# "Key: value" pairs (a value with a comma or colon in double quotes); the last line counts only with 3+ pairs.
A1111_PAIR = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def a1111(text: str) -> tuple[str, str, dict]:
    *head, last = text.strip().split("\n")
    pairs = A1111_PAIR.findall(last)
    if len(pairs) < 3:
        head, pairs = [*head, last], []
    prompt, negative, done = "", "", False
    for line in head:
        if line.startswith("Negative prompt:"):
            done, line = True, line[len("Negative prompt:") :].strip()
        if done:
            negative += ("\n" if negative else "") + line
        else:
            prompt += ("\n" if prompt else "") + line
    return prompt, negative, {k: json.loads(v) if v.startswith('"') else v for k, v in pairs}


@pytest.fixture(scope="module")
def made(tmp_path_factory, placeholder_models):
    """One PNG of every kind Lienzo makes, on the bundled mini."""
    from hub.service import Hub
    from hub.settings import Settings

    data = tmp_path_factory.mktemp("png")

    async def main():
        hub = Hub.create(Settings(data_dir=data, offline=True, device="cpu"))
        try:
            imagine = await (
                await hub.imagine(ImagineRequest("un círculo rojo --ar 2:1 --seed 7 --no azul, verde --tile --q .25"))
            ).result()
            weighted = await (
                await hub.imagine(ImagineRequest("a red circle::2 a blue square --seed 3 --q .25"))
            ).result()
            mix = await (
                await hub.mix(MixRequest(items=(MixItem(text="a red circle"), MixItem(text="a blue square")), seed=5))
            ).result()
            vary = await (await hub.vary(VaryRequest(imagine.job_id, 0, "subtle"))).result()
            upscale = await (await hub.upscale(UpscaleRequest(imagine.job_id, 1))).result()
            return {"imagine": imagine, "weighted": weighted, "mix": mix, "vary": vary, "upscale": upscale}
        finally:
            await hub.close()

    return run(main())


def test_every_kind_reads_back_under_a1111s_rules_with_no_flag_left_in_the_prompt(made):
    unet = "hub/mini/weights/decoder/unet/diffusion_pytorch_model.safetensors"
    with open(unet, "rb") as f:
        short_hash = hashlib.sha256(f.read()).hexdigest()[:10]
    for kind, result in made.items():
        for path in result.images:
            prompt, negative, settings = a1111(Image.open(path).info["parameters"])
            assert "--" not in prompt and "::" not in prompt, kind
            assert settings["Sampler"] == "DDPM" and settings["Model"] == "mini", kind
            assert settings["Model hash"] == short_hash and settings["Version"] == "Lienzo 0.1.0", kind
            assert settings["Size"] == f"{result.width}x{result.height}" and settings["Kind"] == kind.replace(
                "weighted", "imagine"
            )
    prompt, negative, settings = a1111(Image.open(made["imagine"].images[1]).info["parameters"])
    assert (prompt, negative, settings["Seed"], settings["Tiling"]) == ("un círculo rojo", "azul, verde", "8", "True")
    assert "Denoising strength" in a1111(Image.open(made["vary"].images[0]).info["parameters"])[2]
    weighted = a1111(Image.open(made["weighted"].images[0]).info["parameters"])
    assert weighted[0] == "a red circle, a blue square"
    assert weighted[2]["Prompt weights"] == "a red circle::2 a blue square::1"


def test_sd_parsers_reads_what_the_user_asked_for(made):
    result = made["imagine"]
    info = ParserManager().parse(str(result.images[2]))
    sampler = info.samplers[0]
    assert info.generator.name == "AUTOMATIC1111"
    assert [p.value for p in sampler.prompts] == ["un círculo rojo"]
    assert [p.value for p in sampler.negative_prompts] == ["azul, verde"]
    assert sampler.name == "DDPM" and sampler.parameters == {"cfg_scale": "2.0", "seed": "9", "steps": "6"}
    assert sampler.model.name == "mini" and len(sampler.model.hash) == 10 and info.metadata["Size"] == "96x48"


def png_with(tmp_path, name, **chunks) -> bytes:
    meta = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        meta.add_text(key.replace("_", "-") if key == "sd_metadata" else key, value)
    path = tmp_path / name
    Image.new("RGB", (8, 8)).save(path, pnginfo=meta)
    return path.read_bytes()


def test_comfyui_and_invokeai_pngs_are_read(tmp_path):
    graph = {
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 42,
                "steps": 20,
                "cfg": 7.5,
                "sampler_name": "euler",
                "scheduler": "normal",
                "positive": ["6", 0],
                "negative": ["7", 0],
                "model": ["4", 0],
                "latent_image": ["5", 0],
            },
        },
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 768, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse at dusk", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
    }
    comfy = read_parameters(png_with(tmp_path, "comfy.png", prompt=json.dumps(graph), workflow="{}"))
    assert (comfy.prompt, comfy.negative_prompt) == ("a lighthouse at dusk", "blurry")
    assert comfy.settings == {
        "Steps": "20",
        "Sampler": "euler",
        "Schedule type": "normal",
        "CFG scale": "7.5",
        "Seed": "42",
        "Size": "512x768",
        "Model": "sd15.safetensors",
        "Source": "ComfyUI",
    }
    invoke3 = {
        "positive_prompt": "una casa azul",
        "negative_prompt": "texto",
        "seed": 11,
        "steps": 30,
        "cfg_scale": 6,
        "scheduler": "dpmpp_2m",
        "width": 640,
        "height": 448,
        "model": {"name": "stable-diffusion-v1-5", "base": "sd-1"},
    }
    inv = read_parameters(png_with(tmp_path, "invoke3.png", invokeai_metadata=json.dumps(invoke3)))
    assert (inv.prompt, inv.negative_prompt, inv.get("Seed"), inv.get("Size")) == (
        "una casa azul",
        "texto",
        "11",
        "640x448",
    )
    assert inv.get("Model") == "stable-diffusion-v1-5" and inv.get("Source") == "InvokeAI"
    invoke2 = {
        "model_weights": "stable-diffusion-1.5",
        "image": {
            "prompt": [{"prompt": "a red fox [blurry]", "weight": 1}],
            "seed": 9,
            "steps": 50,
            "cfg_scale": 7.5,
            "sampler": "k_lms",
            "width": 512,
            "height": 512,
        },
    }
    old = read_parameters(png_with(tmp_path, "invoke2.png", sd_metadata=json.dumps(invoke2)))
    assert (old.prompt, old.negative_prompt, old.get("Sampler"), old.get("Steps")) == (
        "a red fox",
        "blurry",
        "k_lms",
        "50",
    )
