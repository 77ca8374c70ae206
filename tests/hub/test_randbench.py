"""`lienzo bench --random-weights`: the published architectures, built from the configs shipped in the repo.

The full-size figures come from a GPU (docs/BENCHMARKS.md); here the configs are checked against the published
parameter counts on the meta device, and the whole bench runs at toy width through the real pipelines.
"""

import json

import pytest

from hub import catalog, randbench
from tests.hub.test_cli import lienzo

MODELS = randbench.IMAGE_MODELS + randbench.TEXT_MODELS


@pytest.mark.parametrize("model", MODELS)
def test_each_published_config_builds_the_published_size(model):
    """Within 3% of the figure its source gives: a typo in a width or a layer count moves it far more."""
    spec = randbench.spec(model)
    counted = randbench.count_params(model)
    for role, part in spec["components"].items():
        if "published_params_m" in part:
            ratio = counted[role] / part["published_params_m"]
            assert 0.97 <= ratio <= 1.03, f"{model} {role}: {counted[role]:.0f}M built, {part['published_params_m']}M"


@pytest.mark.parametrize("model", MODELS)
def test_each_config_cites_the_repos_the_catalog_loads(model):
    sources = " ".join(randbench.spec(model)["sources"])
    repos = catalog.get(model).repos.values()
    assert repos and all(f"huggingface.co/{repo}" in sources for repo in repos)


def test_the_gpu_subset_is_the_prepared_one():
    """Kandinsky 2.2 at 768², SDXL-Turbo at 512², batch 1 and 4; fp16 plain, + SDPA + channels-last, + compile."""
    plans = randbench.gpu_subset()
    k, t = plans["kandinsky-2.2"], plans["sdxl-turbo"]
    assert (k.sizes, k.batches, t.sizes, t.batches) == ((768,), (1, 4), (512,), (1, 4))
    for plan in (k, t):
        levers = [tuple(v.levers()) for v in plan.variants]
        assert {(), ("sdpa", "channels_last"), ("sdpa", "channels_last", "compile")} <= set(levers)
        assert levers[0] == () and all(v.dtype != randbench.torch.float32 for v in plan.variants)


@pytest.mark.timeout(300)  # every catalog model: 31 s quiet, 96 s beside a busy process (session 32)
def test_the_reduced_bench_runs_every_model_through_its_real_pipeline(settings, tmp_path):
    out = tmp_path / "random.json"
    proc = lienzo(["bench", "--random-weights", "--out", str(out)], settings)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert json.loads(proc.stdout) == report and "reduced" in report["what"]
    rows = [r for r in report["rows"] if "variant" in r]
    assert not [r for r in rows if "skipped" in r]
    for model in MODELS:
        mine = [r for r in rows if r["model"] == model]
        assert {r["variant"] for r in mine} >= {"plain"} and len({r["variant"] for r in mine}) == 2
        assert all(r["seconds"] > 0 and r["ratio_vs_plain"] > 0 for r in mine)
        if model in randbench.IMAGE_MODELS:
            assert {(r["size"], r["batch"]) for r in mine} == {(64, 1), (64, 2)}
            assert all(r["ratio_vs_plain"] == 1.0 for r in mine if r["variant"] == "plain")


def test_an_unknown_model_is_refused_with_the_known_ones(settings):
    proc = lienzo(["bench", "--random-weights", "--model", "sdxl"], settings)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no published config for sdxl" in proc.stderr and "kandinsky-2.2" in proc.stderr
