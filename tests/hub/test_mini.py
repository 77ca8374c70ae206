"""The shapes world, the detector that scores the mini model, latent folding and a training smoke run."""

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hub.mini import detect, world


def test_world_is_deterministic_and_bilingual():
    a, b = world.dataset(20, seed=4), world.dataset(20, seed=4)
    assert [x[1] for x in a] == [x[1] for x in b]
    assert all(np.array_equal(np.asarray(x[0]), np.asarray(y[0])) for x, y in zip(a, b))
    scene = world.Scene(
        "white",
        (world.Obj("circle", "red", "small", 0.5, 0.25), world.Obj("square", "blue", "small", 0.5, 0.75)),
        "above",
    )
    assert scene.caption("en") == "a red circle above a blue square"
    assert scene.caption("es") == "un círculo rojo encima de un cuadrado azul"
    star = world.Scene("orange", (world.Obj("star", "purple", "small", 0.25, 0.5, "left"),), None, True, True, True)
    assert star.caption("en") == "a small purple star on the left on an orange background"
    assert star.caption("es") == "una estrella morada pequeña a la izquierda sobre fondo naranja"


def test_hard_negatives_change_meaning_but_not_objects():
    scene = world.Scene(
        "white",
        (world.Obj("circle", "red", "small", 0.5, 0.25), world.Obj("star", "blue", "small", 0.5, 0.75)),
        "above",
    )
    assert world.flip_relation(scene).caption() == "a red circle below a blue star"
    assert world.swap_colours(scene).caption() == "a blue circle above a red star"


def test_detector_reads_rendered_ground_truth():
    rng = random.Random(99)
    for _ in range(150):
        scene = world.sample_scene(rng)
        bg, found = detect.detect(world.render(scene))
        assert bg == scene.background and len(found) == len(scene.objects)
        for obj in scene.objects:
            match = next(f for f in found if f.colour == obj.colour)
            assert match.shape == obj.shape
            assert abs(match.cx - obj.cx) < 0.08 and abs(match.cy - obj.cy) < 0.12


def test_scoring_catches_wrong_relations_and_colours():
    from hub.mini.evaluate import score

    scene = world.Scene(
        "white",
        (world.Obj("circle", "red", "small", 0.5, 0.25), world.Obj("square", "blue", "small", 0.5, 0.75)),
        "above",
    )
    assert score(scene, world.render(scene)) == {
        "count": 1.0,
        "named": 1.0,
        "hidden": 0.0,
        "colour": 1.0,
        "shape": 1.0,
        "relation": 1.0,
    }
    flipped = world.render(
        world.Scene(
            "white",
            (world.Obj("circle", "red", "small", 0.5, 0.75), world.Obj("square", "blue", "small", 0.5, 0.25)),
            "above",
        )
    )
    assert score(scene, flipped)["relation"] == 0.0
    wrong = world.render(world.Scene("white", (world.Obj("triangle", "green", "small", 0.5, 0.25),)))
    assert score(scene, wrong)["colour"] == 0.0 and score(scene, wrong)["count"] == 0.0
    hidden = world.render(world.Scene("red", (world.Obj("square", "blue", "small", 0.5, 0.75),)))  # a red circle
    assert score(scene, hidden)["hidden"] == 1.0 and score(scene, hidden)["named"] == 0.0  # on red: not there


def test_an_edited_region_scores_its_object_not_a_block_painted_over_it():
    """eval-mini --edits: a star of the prompt's colour in the repainted quarter counts; the quarter painted over in
    that colour, edge to edge, does not (the detector alone reads such a block as a square), and is counted as
    filled; a pixel changed outside the mask is caught."""
    from PIL import ImageDraw

    from hub.mini.evaluate_edits import region_score

    original = world.render(world.Scene("white", (world.Obj("circle", "red", "small", 0.75, 0.75),)))
    box = (0.0, 0.0, 0.5, 0.5)  # the top-left quarter
    mask = Image.new("L", original.size, 0)
    mask.paste(255, (0, 0, 32, 32))
    star = world.render(world.Scene("white", (world.Obj("star", "yellow", "small", 0.25, 0.25),)))
    drawn = original.copy()
    drawn.paste(star.crop((0, 0, 32, 32)), (0, 0))  # repainted inside the mask only
    block = original.copy()
    ImageDraw.Draw(block).rectangle((0, 0, 31, 31), fill=world.COLOURS["yellow"])
    keys = ("colour", "shape", "kept", "filled")
    for picture, shape, want in ((drawn, "star", (1, 1, 1, 0)), (block, "square", (0, 0, 1, 1))):
        assert region_score(picture, original, mask, box, "yellow", shape) == dict(zip(keys, map(float, want)))
    moved = drawn.copy()
    moved.putpixel((60, 60), (0, 0, 0))
    assert region_score(moved, original, mask, box, "yellow", "star")["kept"] == 0.0


def test_folding_latent_statistics_is_exact():
    from hub.mini.tiny import decoder_components
    from hub.mini.train import Batches, fold_latent_stats, pixels

    movq = decoder_components(seed=1)["movq"].eval()
    x = pixels(Batches(3).scenes(4))
    with torch.no_grad():
        before = movq.decode(movq.encode(x).latents, force_not_quantize=True).sample
        fold_latent_stats(movq, Batches(5))
        same = Batches(5)  # the very scenes the statistics were taken from
        z = movq.encode(torch.cat([pixels(same.scenes(64)) for _ in range(4)])).latents
        after = movq.decode(movq.encode(x).latents, force_not_quantize=True).sample
    assert torch.allclose(before, after, atol=1e-4)
    assert z.mean((0, 2, 3)).abs().max() < 1e-3 and (z.std((0, 2, 3)) - 1).abs().max() < 1e-3


@pytest.mark.slow
@pytest.mark.timeout(400)  # every stage at a tiny scale, the decoder's pool across 13 aspect buckets
def test_training_smoke_run_exports_loadable_pipelines_and_resumes(tmp_path):
    from diffusers import KandinskyV22Pipeline, KandinskyV22PriorPipeline
    from transformers import AutoModelForCausalLM, AutoTokenizer, CLIPTokenizer

    from hub.mini.train import TrainConfig, train

    cfg = TrainConfig().scaled(0.002)
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

    longer = TrainConfig().scaled(0.004)
    with pytest.raises(
        ConfigError, match=rf"another recipe \(config\.clip_steps: {cfg.clip_steps} -> {longer.clip_steps}"
    ):
        train(tmp_path / "out", tmp_path / "work", longer, threads=1)  # not "already done"


def test_the_tokenizer_numbers_its_vocabulary_the_same_every_time(tmp_path):
    from hub.mini.tokenizer import train_clip_bpe

    texts = ["a red circle above a blue square", "un círculo rojo encima de un cuadrado azul"] * 20
    a, b = (train_clip_bpe(texts, tmp_path / name, vocab_size=300) for name in ("a", "b"))
    assert a.get_vocab() == b.get_vocab()  # the trainer's own ids for single characters change with every run
    assert (tmp_path / "a" / "merges.txt").read_text() == (tmp_path / "b" / "merges.txt").read_text()
    assert a("un círculo rojo").input_ids == b("un círculo rojo").input_ids


def test_attribute_labels_ask_only_what_the_picture_shows():
    from hub.mini.train import HEADS, attribute_labels

    above = world.Scene(
        "white",
        (world.Obj("circle", "red", "small", 0.5, 0.25), world.Obj("square", "blue", "small", 0.5, 0.75)),
        "above",
    )
    below = world.swap_places(above)  # the same picture described the other way round would also be "below"
    same_picture_other_words = world.Scene("white", above.objects[::-1], "below")
    labels = attribute_labels([above, same_picture_other_words, below])
    name = lambda head, i: HEADS[head][labels[head][i]]  # noqa: E731
    assert [name("colour_a", i) for i in range(3)] == ["red", "red", "blue"]  # the top object, however it is said
    assert name("shape_b", 0) == name("shape_b", 1) == "square" and name("axis", 2) == "vertical"
    assert labels["position"][0] == -100 and labels["size"][0] == -100
    assert labels["shape"][0] == -100  # a lone object's head never has to ignore a second one

    lone = world.Scene("white", (world.Obj("star", "green", "small", 0.5, 0.75, "bottom"),))
    labels = attribute_labels([lone])
    assert name("shape", 0) == "star" and name("position", 0) == "bottom"
    assert labels["shape_a"][0] == labels["shape_b"][0] == labels["axis"][0] == -100


def test_the_bundled_mini_draws_what_it_is_told():
    """The committed weights, loaded as a user would (diffusers, offline), on held-out prompts: a regression
    check well below the model card's figures (eval-mini measures them properly, with 4 images a prompt)."""
    from diffusers import KandinskyV22Pipeline, KandinskyV22PriorPipeline

    from hub.catalog import BUNDLED_ROOT, MODELS
    from hub.mini.evaluate import prompts, score

    torch.set_num_threads(1)
    prior = KandinskyV22PriorPipeline.from_pretrained(BUNDLED_ROOT / "prior", dtype=torch.float32)
    decoder = KandinskyV22Pipeline.from_pretrained(BUNDLED_ROOT / "decoder", dtype=torch.float32)
    assert decoder.scheduler.config.prediction_type == "v_prediction"  # what train-mini's recipe trains
    for p in (prior, decoder):
        p.set_progress_bar_config(disable=True)
    scenes = prompts(8, 8, seed=4242)
    scores = {}
    for lang in ("en", "es"):
        emb = prior(
            [s.caption(lang) for s in scenes], generator=torch.Generator().manual_seed(0), num_inference_steps=25
        )
        images = decoder(
            image_embeds=emb.image_embeds,
            negative_image_embeds=emb.negative_image_embeds,
            height=64,
            width=64,
            num_inference_steps=25,
            guidance_scale=MODELS["mini"].defaults.guidance_scale,
            generator=torch.Generator().manual_seed(0),
        ).images
        for scene, image in zip(scenes, images):
            for key, value in score(scene, image).items():
                scores.setdefault(key, []).append(value)
    means = {k: float(np.mean(v)) for k, v in scores.items()}
    # eval-mini (session 5's weights, 96 + 96 prompts): colour 97/97, shape 85/84, count 82/82, position 98/97,
    # relation 92/92 (en/es). The floors leave room for 16 prompts; session 2's weights (shape 30%) fail them.
    assert means["colour"] >= 0.8 and means["background"] >= 0.75 and means["position"] >= 0.75, means
    assert means["relation"] >= 0.6 and means["shape"] >= 0.5 and means["count"] >= 0.5, means


def test_the_card_sets_a_from_scratch_run_beside_the_model(tmp_path):
    import copy
    import json
    import shutil

    from hub.catalog import BUNDLED_ROOT
    from hub.mini.card import write_card

    shutil.copy(BUNDLED_ROOT / "training.json", tmp_path / "training.json")
    report = json.loads((Path(__file__).resolve().parents[2] / "docs" / "eval-mini.json").read_text())
    assert "## Reproduction" not in write_card(tmp_path, report, None).read_text()
    meta = json.loads((tmp_path / "training.json").read_text())
    again = copy.deepcopy(report)
    again["accuracy_percent"]["es"]["shape"] = report["accuracy_percent"]["es"]["shape"] - 3.5
    again["model"] = {
        "weights": "my-mini",
        "recipe": {"config": meta["config"], "arch": meta["arch"]},
        "finished": "2030-01-01 00:00:00",
    }
    card = write_card(tmp_path, report, None, reproduction=again).read_text()
    assert "## Reproduction" in card and "(-3.5)" in card and "largest gap: 3.5 points (shape, es)" in card
    assert "same to the last digit" not in card
    again["accuracy_percent"] = copy.deepcopy(report["accuracy_percent"])
    assert "same to the last digit" in write_card(tmp_path, report, None, reproduction=again).read_text()

    from hub.errors import ConfigError

    other = copy.deepcopy(again)
    other["model"]["recipe"]["config"]["unet_steps"] = 7
    with pytest.raises(
        ConfigError, match=rf"another recipe \(config.unet_steps: {meta['config']['unet_steps']} here, 7"
    ):
        write_card(tmp_path, report, None, reproduction=other)
    other["model"] = {**again["model"], "finished": meta["finished"]}
    with pytest.raises(ConfigError, match="this very model"):
        write_card(tmp_path, report, None, reproduction=other)
    del other["model"]
    with pytest.raises(ConfigError, match="does not say which model it scored"):
        write_card(tmp_path, report, None, reproduction=other)
    assert "## Reproduction" in (tmp_path / "README.md").read_text()  # a refused comparison leaves the card alone


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_tune_from_brings_a_trained_model_to_every_aspect(tmp_path, settings):
    """`train-mini --tune-from` on the bundled model at a tiny scale: the language side is new (its own
    tokenizer), the image side is the folder's own, the decoder and the draft decoder come out, and the exported
    folder draws a 16:9 picture through the Hub's path; the text and decoder stages run side by side."""
    import json
    import os
    import subprocess
    import sys

    from hub.catalog import BUNDLED_ROOT

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "LIENZO_DATA_DIR": str(settings.data_dir), "LIENZO_DEVICE": "cpu"}
    base = [sys.executable, "-m", "hub.cli", "train-mini", "--tune-from", str(BUNDLED_ROOT)]
    base += ["--work", str(tmp_path / "w"), "--out", str(tmp_path / "out"), "--scale", "0.001", "--threads", "1"]
    logs = [tmp_path / "language.log", tmp_path / "decoder.log"]  # files: a full pipe would stall the stage
    side = [
        subprocess.Popen([*base, "--stages", s], env=env, cwd=root, stderr=log.open("w"), stdout=subprocess.DEVNULL)
        for s, log in zip(("text,prior", "unet"), logs)
    ]
    for p, log in zip(side, logs):
        assert p.wait(timeout=600) == 0, log.read_text()[-2000:]
    done = subprocess.run([*base, "--stages", "export"], env=env, cwd=root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "out"
    meta = json.loads((out / "training.json").read_text())
    assert set(meta["tune"]["seconds"]) == {"text", "prior", "unet", "draft", "total"}
    assert meta["config"] == json.loads((BUNDLED_ROOT / "training.json").read_text())["config"]  # the base recipe
    same = (out / "prior" / "image_encoder" / "model.safetensors").read_bytes()
    assert same == (BUNDLED_ROOT / "prior" / "image_encoder" / "model.safetensors").read_bytes()  # locked
    new_vocab = json.loads((out / "prior" / "tokenizer" / "tokenizer.json").read_text())["model"]["vocab"]
    assert "underneath" in new_vocab or "underneath</w>" in new_vocab  # learnt from the varied captions
    text_tower = Path("prior") / "text_encoder" / "model.safetensors"
    assert (out / text_tower).read_bytes() != (BUNDLED_ROOT / text_tower).read_bytes()  # a new text tower
    processor = json.loads((out / "prior" / "image_processor" / "preprocessor_config.json").read_text())
    assert processor["do_center_crop"] is False and processor["size"] == {"height": 64, "width": 64}
    assert (out / "decoder-draft" / "unet").is_dir() and (out / "text").is_dir()
    assert (out / "vae-fast").is_dir() == (BUNDLED_ROOT / "vae-fast").is_dir()  # the MoVQ is kept, and so its decoder
    wide = subprocess.run(
        [sys.executable, "-m", "hub.cli", "imagine", "a red circle --ar 16:9", "--num-images", "1", "--json"],
        env={**env, "LIENZO_MINI_WEIGHTS": str(out)},
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert wide.returncode == 0, wide.stderr[-2000:]
    from PIL import Image

    assert Image.open(json.loads(wide.stdout)["files"][-1]).size == (80, 48)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_tune_of_one_side_keeps_the_other(tmp_path, settings):
    """`train-mini --tune-from FOLDER --stages unet,export`: the decoder continued on the aspect buckets, the folder's
    tokenizer, text tower and prior kept as they are (what the bundled mini shipped in session 16);
    `--stages text,prior,export`: a new language side, the folder's decoders kept byte for byte; export refuses a
    work folder where only half the language side ran."""
    import json
    import os
    import subprocess
    import sys

    from safetensors.torch import load_file

    from hub.catalog import BUNDLED_ROOT

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "LIENZO_DATA_DIR": str(settings.data_dir), "LIENZO_DEVICE": "cpu"}
    base = [sys.executable, "-m", "hub.cli", "train-mini", "--tune-from", str(BUNDLED_ROOT), "--scale", "0.001"]
    base += ["--threads", "1", "--set", "seed=4", "--set", "tune_wide_weight=0.35"]  # the recipe's settings, changed

    def tune(work: str, stages: str, out: str = "out") -> subprocess.CompletedProcess:
        cmd = [*base, "--work", str(tmp_path / work), "--stages", stages, "--out", str(tmp_path / out)]
        return subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, timeout=600)

    run = tune("w", "unet,export")
    assert run.returncode == 0, run.stderr[-2000:]
    out = tmp_path / "out"
    meta = json.loads((out / "training.json").read_text())
    assert meta["tune"]["language"] == "kept" and set(meta["tune"]["seconds"]) == {"unet", "draft", "total"}
    assert meta["tune"]["config"]["seed"] == 4 and meta["tune"]["config"]["tune_wide_weight"] == 0.35
    wrong = subprocess.run(
        [*base[:-4], "--set", "tune_wide_weight=wide"], env=env, cwd=root, capture_output=True, text=True
    )
    assert (
        wrong.returncode != 0 and "tune_wide_weight takes a number" in wrong.stderr and "Traceback" not in wrong.stderr
    )
    for part in ("text_encoder/model", "prior/diffusion_pytorch_model"):
        kept, shipped = (load_file(d / "prior" / f"{part}.safetensors") for d in (out, BUNDLED_ROOT))
        assert kept.keys() == shipped.keys() and all(kept[k].equal(shipped[k]) for k in kept)
    assert (out / "prior" / "tokenizer" / "tokenizer.json").read_text() == (
        BUNDLED_ROOT / "prior" / "tokenizer" / "tokenizer.json"
    ).read_text()
    tuned, shipped = (
        load_file(d / "decoder" / "unet" / "diffusion_pytorch_model.safetensors") for d in (out, BUNDLED_ROOT)
    )
    assert any(not tuned[k].equal(shipped[k]) for k in tuned)  # the decoder did learn
    # the new draft is distilled from the tuned decoder itself, not from the folder's earlier draft decoder
    draft, earlier = (
        load_file(d / "decoder-draft" / "unet" / "diffusion_pytorch_model.safetensors") for d in (out, BUNDLED_ROOT)
    )

    def apart(a, b):
        return sum((a[k].float() - b[k].float()).abs().sum().item() for k in a)

    assert apart(draft, tuned) < apart(draft, earlier)
    assert meta["draft"]["how"].startswith("distilled again from the tuned decoder")  # what the card's draft part tells
    assert (out / "decoder-inpaint" / "unet").is_dir() and (out / "vae-fast").is_dir()  # they come along
    assert meta["inpaint"] == json.loads((BUNDLED_ROOT / "training.json").read_text())["inpaint"]
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "tune-text.done").write_text("")
    refused = tune("half", "export")
    assert refused.returncode != 0 and "text and prior together" in refused.stderr

    run = tune("lang", "text,prior,export", out="lang")
    assert run.returncode == 0, run.stderr[-2000:]
    lang = tmp_path / "lang"
    meta = json.loads((lang / "training.json").read_text())
    shipped_meta = json.loads((BUNDLED_ROOT / "training.json").read_text())
    assert meta["tune"]["decoder"] == "kept" and set(meta["tune"]["seconds"]) == {"text", "prior", "total"}
    assert meta["tunes"][-1]["config"] == shipped_meta["tune"]["config"]  # the earlier tune's record stays
    assert meta["draft"] == shipped_meta["draft"]
    for part in ("decoder/unet/diffusion_pytorch_model", "decoder-draft/unet/diffusion_pytorch_model"):
        kept, shipped = (load_file(d / f"{part}.safetensors") for d in (lang, BUNDLED_ROOT))
        assert kept.keys() == shipped.keys() and all(kept[k].equal(shipped[k]) for k in kept)
    new_vocab = json.loads((lang / "prior" / "tokenizer" / "tokenizer.json").read_text())["model"]["vocab"]
    assert "underneath" in new_vocab or "underneath</w>" in new_vocab  # learnt from the varied captions
    from hub.mini.card import _tunes

    told = _tunes(meta)
    assert "--stages unet,export" in told and "--stages\ntext,prior,export" in told  # both tunes, in order


def test_a_decoder_tune_can_weigh_the_latents_that_tell_a_shape(tmp_path, settings):
    """`tune_shape_focus`: the decoder's pool keeps each scene's shape cues on the latent grid and the loss weighs
    them; the same two steps from the same weights learn something else with it than without it."""
    import copy
    from dataclasses import replace

    from hub import catalog
    from hub.loading import Loader
    from hub.mini.train import Batches, TrainConfig, train_unet, zero_image_embed

    weights = Loader(settings.with_(mini_weights=None)).kandinsky(catalog.get("mini"))
    movq, sched, vision = weights.decoder["movq"], weights.decoder["scheduler"], weights.prior["image_encoder"]
    for m in (movq, vision):
        m.float().eval()
    zero = zero_image_embed(vision)
    cfg = replace(TrainConfig(), unet_steps=2, unet_batch=4, unet_pool=64, checkpoint_every=10)
    learnt = {}
    for focus in (3.0, 0.0):
        unet = copy.deepcopy(weights.decoder["unet"]).float()
        random.seed(0)
        torch.manual_seed(0)
        work = tmp_path / f"focus-{focus}"
        work.mkdir()
        if not focus:  # the same scenes without their cues: only the weighting differs
            pool = torch.load(tmp_path / "focus-3.0" / "unet-pool-cues.pt")
            torch.save({b: {k: v[k] for k in ("latents", "embeds")} for b, v in pool.items()}, work / "unet-pool.pt")
        train_unet(work, replace(cfg, tune_shape_focus=focus), unet, movq, vision, sched, zero, Batches(1))
        learnt[focus] = unet.state_dict()
    cues = torch.load(tmp_path / "focus-3.0" / "unet-pool-cues.pt")["64x64"]["cues"]
    assert cues.shape == (64, 1, 16, 16) and cues.dtype == torch.uint8 and 0 < cues.float().mean() < 0.25
    assert not (tmp_path / "focus-0.0" / "unet-pool-cues.pt").exists()
    assert any(not learnt[0.0][k].equal(learnt[3.0][k]) for k in learnt[0.0])


def test_the_card_tells_each_decoder_tune_of_the_bundled_mini_apart():
    """The bundled mini's decoder was brought to every aspect once (session 16), then continued twice (session 19),
    once more in session 20 and again, twice as long, in session 21, then averaged with session 20's in session 22
    and continued from the mean in session 23, its wide and tall buckets weighted up: the card says which tune did
    what, each with its own steps and machine."""
    from hub.catalog import BUNDLED_ROOT
    from hub.mini.card import _tunes, training_meta

    told = " ".join(_tunes(training_meta(BUNDLED_ROOT)).split())
    assert told.count("brought to every aspect") == 1 and told.count("continued on every aspect again") == 5
    assert "1000 steps (of a 1500-step cosine" in told and "Took 29 minutes on 1 CPU thread" in told
    assert "1500 steps in aspect-ratio buckets" in told and "Took 25 minutes on 2 CPU threads" in told
    assert "Took 67 minutes on 1 CPU thread" in told and "(session 20)" in told
    assert "3000 steps in aspect-ratio buckets" in told and "Took 48 minutes on 2 CPU threads" in told
    assert "averaged, weight by weight, with the decoder of the model finished 2026-12-01 05:34:20" in told
    assert "with weight 0.7; the draft decoder distilled again for 600 steps, starting from the averaged" in told
    assert "on 16384 scenes, with a peak learning rate of 0.0002 (the recipe's 0.0003) and the 80×48 and 48×80" in told
    assert told.count("buckets drawn at weight") == 1 and "Took 42 minutes on 1 CPU thread; draft 18.1" in told
