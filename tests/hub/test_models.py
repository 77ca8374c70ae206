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


def test_a_loaded_tokenizer_keeps_each_callers_padding_when_threads_call_it_at_once(settings):
    """A fast tokenizer sets padding and truncation on its one Rust object at every call: a prompt encoded for the
    prior (padded to its 32 tokens) while other threads counted a prompt's tokens (unpadded) came back 5 tokens long,
    and a Ray replica's job failed on it. Every tokenizer the loader hands out serves one call at a time (without
    that, 58 of these 3000 calls came back unpadded, session 31), and a copy of it gets a lock of its own."""
    import copy
    import pickle
    import threading

    from hub.loading import Loader

    tok = Loader(settings).kandinsky(catalog.get("mini")).prior["tokenizer"]
    done, lengths, errors = threading.Event(), [], []

    def for_the_prior():
        for _ in range(3000):
            ids = tok(["a red circle"], padding="max_length", max_length=tok.model_max_length, truncation=True)
            lengths.append(len(ids.input_ids[0]))
        done.set()

    def counting():
        while not done.is_set():
            try:
                tok(["a red circle above a blue square"] * 8, truncation=False)
            except Exception as exc:  # noqa: BLE001 (the test reads what went wrong)
                errors.append(exc)

    threads = [threading.Thread(target=for_the_prior), *(threading.Thread(target=counting) for _ in range(2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert set(lengths) == {tok.model_max_length} and len(lengths) == 3000 and errors == []
    for twin in (copy.deepcopy(tok), pickle.loads(pickle.dumps(tok))):
        assert twin._lienzo_lock is not tok._lienzo_lock
        assert (
            twin("a red circle", padding="max_length", max_length=8).input_ids
            == tok("a red circle").input_ids + [tok.pad_token_id] * 3
        )
