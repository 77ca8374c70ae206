"""Every catalog model: which engine runs it, what it may advertise, and whether it runs here, as a table."""

from __future__ import annotations

import pytest

from hub import catalog, engines

HERE = dict(offline=True, cached=False)  # this machine and CI: no network for weights
# model -> status on (a CPU and no GPU, offline) / (LIENZO_DEVICE=cpu, offline) / (a 24 GiB GPU, online) /
#          (a 4 GiB GPU, weights in the cache: with offload, half the memory a model asks for will do) /
#          (no GPU, online)
TABLE = {
    "mini": ("bundled", "bundled", "bundled", "bundled", "bundled"),
    "kandinsky-2.2": ("needs-gpu", "offline", "download", "cached", "needs-gpu"),
    "sdxl-turbo": ("needs-gpu", "offline", "download", "cached", "needs-gpu"),
    "sd-1.5": ("needs-gpu", "offline", "download", "cached", "needs-gpu"),
    "sdxl": ("needs-gpu", "offline", "download", "needs-gpu", "needs-gpu"),
    "smollm2-360m": ("offline", "offline", "download", "cached", "download"),
    "qwen2.5-0.5b": ("offline", "offline", "download", "cached", "download"),
    "mini-text": ("bundled", "bundled", "bundled", "bundled", "bundled"),
}
PLACES = (
    dict(gpu_gib=None, device="auto", **HERE),
    dict(gpu_gib=None, device="cpu", **HERE),
    dict(gpu_gib=24.0, device="auto", offline=False, cached=False),
    dict(gpu_gib=4.0, device="auto", offline=False, cached=True),
    dict(gpu_gib=None, device="auto", offline=False, cached=False),
)


def test_the_table_names_every_catalog_model():
    assert set(TABLE) == set(catalog.MODELS)


@pytest.mark.parametrize("name", sorted(catalog.MODELS))
def test_where_each_model_runs(name):
    spec = catalog.get(name)
    got = tuple(catalog.availability(spec, **place).status for place in PLACES)
    assert got == TABLE[name]
    for place in PLACES:
        a = catalog.availability(spec, **place)
        assert a.ok == (a.status in ("bundled", "placeholder", "cached", "download")) and a.reason


@pytest.mark.parametrize("name", sorted(catalog.MODELS))
def test_each_model_has_an_engine_that_does_what_it_advertises(name):
    """ControlNet is advertised by no model (no engine runs it yet); inpainting by the Kandinsky and SD families,
    whose engines run it (tests/hub/test_edits.py and the engine tests)."""
    spec = catalog.get(name)
    assert spec.family in engines.FAMILIES
    _, _, can = engines.FAMILIES[spec.family]
    assert spec.capabilities and spec.capabilities <= can
    assert "controlnet" not in spec.capabilities
    assert ("inpaint" in spec.capabilities) == (spec.family in ("kandinsky", "auto"))


def test_a_bundled_model_without_its_weights_says_so(tmp_path):
    mini = catalog.availability(catalog.get("mini"), gpu_gib=None, mini_root=tmp_path, **HERE)
    text = catalog.availability(catalog.get("mini-text"), gpu_gib=None, mini_root=tmp_path, **HERE)
    assert (mini.ok, mini.status) == (True, "placeholder") and "UNTRAINED" in mini.reason
    assert (text.ok, text.status) == (False, "missing") and "train-mini" in text.reason


def test_the_bundled_models_are_built_through_the_table_and_keep_their_protocols(settings):
    from hub.worker import Worker

    worker = Worker(settings)
    image, text = worker.engine("mini"), worker.engine("mini-text")
    assert isinstance(image, engines.ImageEngine) and not isinstance(image, engines.TextEngine)
    assert isinstance(text, engines.TextEngine) and image.size_multiple == catalog.get("mini").defaults.size_multiple
