"""`train-mini --tune-from` on the bundled mini at a tiny scale, one side or both. A file of its own, so that
`make test`'s workers (one file each at a time) share the slow tests."""

from pathlib import Path

import pytest

from tests.conftest import SMOKE_SETS


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
    base += SMOKE_SETS
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
    base += [*SMOKE_SETS, "--threads", "1", "--set", "seed=4", "--set", "tune_wide_weight=0.35"]  # the recipe, changed

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
