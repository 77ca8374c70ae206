"""The `lienzo` command as a user runs it (a real subprocess), and offline loading."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SMOKE_SETS

ROOT = Path(__file__).resolve().parents[2]


def lienzo(args, settings, **kw):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LIENZO_DATA_DIR": str(settings.data_dir), "LIENZO_DEVICE": "cpu"}
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=180, **kw
    )


def test_imagine_writes_grid_and_images_and_prints_paths(settings, tmp_path):
    out = tmp_path / "out"
    proc = lienzo(["imagine", "a red circle --ar 16:9 --seed 7", "--out", str(out), "--json"], settings)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    names = sorted(Path(f).name for f in result["files"])
    job = result["job_id"]
    assert names == sorted([f"lienzo-{job}-grid.png"] + [f"lienzo-{job}-{i}.png" for i in range(1, 5)])
    assert all((out / n).exists() for n in names) and result["seeds"] == [7, 8, 9, 10]
    assert "placeholder" not in proc.stderr  # the trained, bundled model
    assert "[transformers]" not in proc.stderr and "torchvision" not in proc.stderr  # library chatter: only with -v


@pytest.mark.timeout(300)  # four `lienzo` processes: 57 s quiet, 108 s beside a busy process (session 32)
def test_eval_mini_scores_a_trained_folder_against_the_committed_report(settings, tmp_path):
    """How a user checks that their own `train-mini --out` folder reproduces the committed model: here the folder
    is the untrained stand-in, so it must be the one scored (far below the committed figures), not the bundled."""
    folder = settings.data_dir / "models" / "mini-placeholder"
    proc = lienzo(
        [
            "eval-mini",
            "--weights",
            str(folder),
            "--single",
            "1",
            "--two",
            "1",
            "--out",
            str(tmp_path / "r.json"),
            "--compare",
            str(ROOT / "docs" / "eval-mini.json"),
        ],
        settings,
    )
    assert proc.returncode == 0, proc.stderr
    gap = float(proc.stdout.split("largest gap: ")[1].split(" points")[0])
    assert gap > 40, proc.stdout  # colour, position, background: ~95-100% for the bundled model
    assert "for a like-for-like comparison pass --single 96 --two 96" in proc.stdout
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["accuracy_percent"]["es"] and written["model"]["weights"] == str(
        folder.resolve()
    )  # which model it scored
    bad = lienzo(["eval-mini", "--weights", str(tmp_path)], settings)
    assert bad.returncode == 2 and "is not a mini model folder" in bad.stderr and "Traceback" not in bad.stderr
    none = lienzo(["eval-mini", "--single", "0"], settings)  # it used to report NaN figures
    assert none.returncode == 2 and "--single 0 is not valid: give 1 to 1000" in none.stderr
    card = ROOT / "hub" / "mini" / "weights" / "README.md"
    before = card.read_text()
    same = lienzo(
        ["eval-mini", "--card", "--compare", str(ROOT / "docs" / "eval-mini.json"), "--out", str(tmp_path / "s.json")],
        settings,
    )  # the committed model's own report is no reproduction
    assert same.returncode == 2 and "scored this very model" in same.stderr and "Traceback" not in same.stderr
    assert card.read_text() == before and not (tmp_path / "s.json").exists()  # refused before any work


def test_train_mini_refuses_a_bad_scale_before_writing_anything(settings, tmp_path):
    where = tmp_path / "training"
    where.mkdir()
    proc = lienzo(["train-mini", "--scale", "-1", "--work", str(where / "w"), "--out", str(where / "o")], settings)
    assert proc.returncode == 2 and "--scale -1 is not valid" in proc.stderr and "Traceback" not in proc.stderr
    assert not any(where.iterdir())  # -1 once ran a 2-step "smoke" run over the bundled weights, the default --out


def test_eval_mini_refuses_a_compare_file_that_is_not_a_report_saying_why_in_words(settings, tmp_path):
    """Before any work, and without Python's words for it (the exception's class once showed)."""
    cases = {"not-json.txt": "a picture, not JSON", "other.json": '{"scores": [1, 2]}'}
    whys = []
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        proc = lienzo(["eval-mini", "--compare", str(tmp_path / name), "--out", str(tmp_path / "r.json")], settings)
        assert proc.returncode == 2 and not (tmp_path / "r.json").exists()
        line = proc.stderr.strip().splitlines()[-1]
        assert line.startswith(f"error: --compare '{tmp_path / name}' is not an eval-mini report: ")
        assert "Error" not in line and "Traceback" not in proc.stderr
        whys.append(line.split(": ")[2].split(";")[0])
    assert whys == ["it is not JSON", "it has no English scores (accuracy_percent.en)"]


def _one_stage(settings, tmp_path, flag: str, without: str | None = None, extra: tuple = ()):
    """`train-mini FLAG FOLDER` at a tiny scale on a copy of the untrained stand-in (less its `without` folder, a
    model trained before that stage): the folder, the work folder and the stage's JSON report."""
    import shutil

    folder, work = tmp_path / "model", tmp_path / "work"
    shutil.copytree(settings.data_dir / "models" / "mini-placeholder", folder)
    if without:
        shutil.rmtree(folder / without)
    proc = lienzo(
        ["train-mini", flag, str(folder), "--work", str(work), "--scale", "0.002", *SMOKE_SETS, *extra], settings
    )
    assert proc.returncode == 0, proc.stderr[-1500:]
    return folder, work, json.loads(proc.stdout.splitlines()[-1])


def test_train_mini_draft_from_distils_a_trained_folder_into_it(settings, tmp_path):
    """The draft stage alone, on a model trained earlier (here the untrained stand-in, copied): its decoder-draft
    folder appears beside its decoder, and a folder that is not a model is refused before anything runs."""
    folder, work, report = _one_stage(settings, tmp_path, "--draft-from", extra=("--set", "draft_wide_weight=0.35"))
    assert report["steps"] == 2 and report["wide_weight"] == 0.35  # its wide and tall buckets weighed up
    assert (folder / "decoder-draft" / "unet" / "config.json").exists() and (work / "draft.done").exists()
    proc = lienzo(["train-mini", "--draft-from", str(tmp_path), "--work", str(work)], settings)
    assert proc.returncode == 2 and "not a trained model folder" in proc.stderr and "Traceback" not in proc.stderr


def test_train_mini_average_from_means_two_decoders_of_one_chain_and_refuses_others(settings, tmp_path):
    """`--average-from LATER --average-with EARLIER`: the decoder is the weight-by-weight mean of the two (in fp32,
    stored as they were), a draft decoder is distilled from it and the record says what was averaged; a model that
    is not an ancestor, a weight outside (0, 1) and a lone flag are refused in words, writing nothing."""
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    unet = Path("decoder") / "unet" / "diffusion_pytorch_model.safetensors"
    earlier, later = tmp_path / "earlier", tmp_path / "later"
    for folder, meta in (
        (earlier, {"finished": "2026-01-01 00:00:00"}),
        (later, {"finished": "2026-01-02 00:00:00", "tune": {"from": "2026-01-01 00:00:00", "config": {}}}),
    ):
        shutil.copytree(settings.data_dir / "models" / "mini-placeholder", folder)
        (folder / "training.json").write_text(json.dumps(meta))
    a = load_file(later / unet)
    noise = torch.Generator().manual_seed(1)
    b = {k: v + 0.25 * torch.randn(v.shape, generator=noise).to(v.dtype) for k, v in a.items()}
    save_file(b, earlier / unet)
    out, work = tmp_path / "out", tmp_path / "work"
    base = ["train-mini", "--work", str(work), "--scale", "0.002", *SMOKE_SETS]
    proc = lienzo([*base, "--average-from", str(later), "--average-with", str(earlier), "--out", str(out)], settings)
    assert proc.returncode == 0, proc.stderr[-1500:]
    mean = load_file(out / unet)
    assert all(torch.equal(mean[k], ((a[k].float() + b[k].float()) / 2).to(a[k].dtype)) for k in a)
    assert not all(torch.equal(mean[k], a[k]) for k in a)
    meta = json.loads((out / "training.json").read_text())
    assert meta["tune"]["averaged_with"] == "2026-01-01 00:00:00" and meta["tune"]["weight"] == 0.5
    assert meta["tunes"][-1]["from"] == "2026-01-01 00:00:00"  # the later model's own tune stays on record
    assert (out / "decoder-draft" / "unet" / "config.json").exists() and (work / "draft" / "draft.done").exists()
    pair = ["--average-from", str(later), "--average-with", str(earlier)]
    (tmp_path / "a-file").write_text("notes")
    refused = [
        ("is not a model", ["--average-from", str(earlier), "--average-with", str(later)], "no"),  # wrong way round
        ("between 0 and 1", [*pair, "--average-weight", "1"], "no"),
        ("go together", ["--average-from", str(later)], "no"),
        ("already holds files", pair, "later"),  # never over a model folder, its own least of all
        ("already holds files", pair, "a-file"),
    ]
    before = {f: f.read_bytes() for f in later.rglob("*") if f.is_file()}
    for words, flags, where in refused:
        proc = lienzo([*base, *flags, "--out", str(tmp_path / where)], settings)
        assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-500:]
        assert not (tmp_path / "no").exists()
    assert {f: f.read_bytes() for f in later.rglob("*") if f.is_file()} == before
    assert (tmp_path / "a-file").read_text() == "notes"


def test_train_mini_inpaint_from_teaches_a_trained_folders_decoder_to_inpaint(settings, tmp_path):
    """The inpaint stage alone on a model trained earlier (the stand-in, copied, less its inpainting decoder): the
    folder gains decoder-inpaint/ with a 9-channel UNet, which the Hub then uses for Vary (Region)."""
    from diffusers import UNet2DConditionModel

    folder, work, report = _one_stage(settings, tmp_path, "--inpaint-from", "decoder-inpaint")
    assert report["steps"] == 3 and (work / "inpaint.done").exists()
    unet = UNet2DConditionModel.from_pretrained(folder / "decoder-inpaint" / "unet")
    assert unet.config.in_channels == 9


def test_train_mini_fastvae_from_distils_a_folders_movq_into_a_tiny_decoder(settings, tmp_path):
    """The fastvae stage alone on a model trained earlier (the stand-in, copied, less its tiny decoder): the folder
    gains vae-fast/, an AutoencoderTiny whose decode gives the MoVQ's picture size."""
    import torch
    from diffusers import AutoencoderTiny

    folder, work, report = _one_stage(settings, tmp_path, "--fastvae-from", "vae-fast")
    assert report["steps"] == 4 and (work / "fastvae.done").exists()
    vae = AutoencoderTiny.from_pretrained(folder / "vae-fast")
    assert vae.decode(torch.zeros(1, 4, 16, 8)).sample.shape == (1, 3, 64, 32)
    assert report["continued"] is False and report["wide_weight"] == 0.15


@pytest.mark.timeout(360)  # 96 s on session 28's 2-core machine, over 120 s beside a busy process
def test_train_mini_fastvae_from_can_continue_a_folders_own_tiny_decoder(settings, tmp_path):
    """`--set fastvae_continue=true`: the folder's vae-fast/ trained further, its wide buckets weighed as asked (how
    the bundled one was brought to 80x48 and 48x80 in session 26); a folder without one is refused in words."""
    import shutil

    from safetensors.torch import load_file

    weights = Path("vae-fast") / "diffusion_pytorch_model.safetensors"
    earlier = load_file(settings.data_dir / "models" / "mini-placeholder" / weights)
    sets = ("--set", "fastvae_continue=true", "--set", "fastvae_wide_weight=0.5")
    folder, work, report = _one_stage(settings, tmp_path, "--fastvae-from", extra=sets)
    assert report["continued"] is True and report["wide_weight"] == 0.5
    later = load_file(folder / weights)
    assert later.keys() == earlier.keys() and any(not later[k].equal(earlier[k]) for k in later)
    # a few Adam steps from the earlier weights, not a fresh start (a new one's random weights are far from these)
    assert max((later[k].float() - earlier[k].float()).abs().max().item() for k in later) < 0.05
    shutil.rmtree(folder / "vae-fast")
    proc = lienzo(["train-mini", "--fastvae-from", str(folder), "--work", str(tmp_path / "w2"), *sets], settings)
    assert proc.returncode == 2 and "has no vae-fast/ to continue" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_flag_exits_2_with_one_clear_line(settings):
    proc = lienzo(["imagine", "a cat --ar 16x9"], settings)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: --ar “16x9” is not valid")
    assert "Traceback" not in proc.stderr


def test_describe_refuses_a_non_image(settings, tmp_path):
    bogus = tmp_path / "x.png"
    bogus.write_text("hello")
    proc = lienzo(["describe", str(bogus)], settings)
    assert proc.returncode == 2 and "not a readable image" in proc.stderr


def test_models_json_lists_every_model_with_reasons_and_local_paths(settings):
    proc = lienzo(["models", "--json"], settings)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    models = {m["name"]: m for m in data["models"]}
    assert {"mini", "kandinsky-2.2", "sdxl-turbo", "sd-1.5", "smollm2-360m"} <= set(models)
    assert "kandinsky-2.1" not in models  # its combined pipeline has no engine here: not listed until one runs it
    assert models["mini"]["runs_here"] and models["mini"]["local_path"]
    assert not models["kandinsky-2.2"]["runs_here"] and models["kandinsky-2.2"]["reason"]
    assert models["kandinsky-2.2"]["weights"]["prior"] == "kandinsky-community/kandinsky-2-2-prior"
    assert data["offline"] is True


def test_a_hub_model_offline_fails_fast_with_a_clear_message(settings):
    from hub import catalog
    from hub.errors import ModelUnavailable
    from hub.loading import Loader

    loader = Loader(settings)
    with pytest.raises(ModelUnavailable, match="needs a download from the Hugging Face Hub"):
        loader.kandinsky(catalog.get("kandinsky-2.2"))
    gpu = Loader(settings.with_(device="auto"))
    gpu.__dict__["gpu_gib"] = None  # as on a machine without a GPU
    assert gpu.availability(catalog.get("sdxl-turbo")).status == "needs-gpu"


@pytest.mark.weights
@pytest.mark.skipif(
    not os.environ.get("LIENZO_TEST_WEIGHTS"),
    reason="real weights: needs a GPU and the Hugging Face Hub (set LIENZO_TEST_WEIGHTS=1)",
)
def test_real_kandinsky_2_2_draws_at_768(tmp_path):
    import asyncio

    from hub.service import Hub
    from hub.settings import Settings
    from hub.types import ImagineRequest

    async def main():
        hub = Hub.create(Settings.from_env(data_dir=tmp_path, image_model="kandinsky-2.2"))
        try:
            return await (await hub.imagine(ImagineRequest("a red fox in the snow --seed 1"))).result()
        finally:
            await hub.close()

    result = asyncio.run(main())
    assert (result.width, result.height) == (768, 768) and len(result.images) == 4


def test_the_cpu_install_takes_torch_from_pytorchs_cpu_index_and_pins_it():
    """PyPI's Linux torch is the CUDA build (with ~19 nvidia-* packages). The public CPU index cannot be reached
    from here, so this reads what `make install` asks pip for rather than running it."""
    out = subprocess.run(["make", "-n", "-B", "install"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    first = next(line for line in lines if "torch==" in line)
    assert "--index-url https://download.pytorch.org/whl/cpu torch==2.13.0" in first  # asked of the CPU index first
    project = next(line for line in lines if "-e '.[dev]'" in line)
    assert "-c constraints/cpu.txt" in project  # and held there while the rest installs
    assert "torch==2.13.0" in (ROOT / "constraints" / "cpu.txt").read_text().split()


ISSUE_21_PROMPTS = {  # exactly these, whatever the README shows; each with the scene it asks for
    "a red circle above a blue square --ar 16:9 --seed 7": (
        (("circle", "red", 0.5, 0.3), ("square", "blue", 0.5, 0.7)),
        "above",
        None,
    ),
    "un círculo rojo encima de un cuadrado azul --seed 3": (
        (("circle", "red", 0.5, 0.3), ("square", "blue", 0.5, 0.7)),
        "above",
        None,
    ),
    "a small green triangle on the left --ar 9:16 --seed 11": ((("triangle", "green", 0.25, 0.5),), None, "left"),
    "una estrella amarilla a la derecha de un cuadrado morado --ar 3:2 --seed 5": (
        (("star", "yellow", 0.7, 0.5), ("square", "purple", 0.3, 0.5)),
        "right of",
        None,
    ),
}


@pytest.mark.parametrize("prompt", list(ISSUE_21_PROMPTS))  # all four pass since session 21's decoder
def test_the_bundled_mini_draws_these_prompts_at_their_aspect(settings, tmp_path, prompt):
    """Issue 21: run through `lienzo imagine` as written, at least 3 of the 4 images draw what the prompt says
    (every named object in its colour and shape, the relation or position, nothing hidden by the background)."""
    from PIL import Image

    from hub.mini import world
    from hub.mini.evaluate import score

    objects, relation, position = ISSUE_21_PROMPTS[prompt]
    scene = world.Scene(
        "white",
        tuple(world.Obj(s, c, "small", x, y, position) for s, c, x, y in objects),
        relation,
        show_position=position is not None,
    )
    proc = lienzo(["imagine", prompt, "--out", str(tmp_path), "--json"], settings)
    assert proc.returncode == 0, proc.stderr
    files = [Path(f) for f in json.loads(proc.stdout)["files"] if "grid" not in Path(f).name]
    asked = {"colour", "shape", "named", "relation", "position"}
    good = []
    for f in files:
        got = score(scene, Image.open(f))
        good.append(all(got[k] == 1 for k in asked & got.keys()) and got["hidden"] == 0)
    assert len(files) == 4 and sum(good) >= 3, (good, [f.name for f in files])


def test_the_quick_exit_waits_for_threads_runs_exit_handlers_flushes_and_keeps_the_exit_code(tmp_path):
    """`lienzo` skips the interpreter's teardown (hub.cli.run), not what a normal exit does before it."""
    script = f"""
import atexit, threading
from pathlib import Path
from hub import cli
out, gate = Path({str(tmp_path)!r}), threading.Event()
def late():  # a thread that is not a daemon, still writing when main returns
    gate.wait()
    total = sum(i * i for i in range(2 * 10**6))  # work still under way when main has returned
    (out / "thread").write_text(f"written {{total > 0}}")
threading.Thread(target=late).start()
atexit.register(lambda: (out / "atexit").write_text((out / "thread").read_text()))
cli.main = lambda: (gate.set(), print("buffered", end=""), 3)[2]
cli.run()
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "buffered"  # a pipe is block-buffered: flushed before the end
    assert (tmp_path / "atexit").read_text() == "written True"  # the thread finished before the exit handlers ran
