"""Shared fixtures. Everything runs offline on tiny random-weight components built here."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import hypothesis
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


# Hypothesis: a few hundred examples in the default suite; `--hypothesis-profile=thorough` runs 10,000 per test
hypothesis.settings.register_profile("default", max_examples=100, deadline=None, database=None)
hypothesis.settings.register_profile("thorough", max_examples=10_000, deadline=None, database=None)
hypothesis.settings.load_profile("default")

# The suite's longest files, longest first (seconds of tests in one `make test` on 2 cores, session 31). pytest-xdist
# (--dist loadfile) hands each worker the next file in collection order as it frees up, so the long files start
# first and the short ones fill in at the end. In the default order the mini's training and Ray files came last, on
# one worker, while the other had finished: 1200 s of tests on one worker against 1051 s on the other (session 30).
LONGEST_FIRST = (
    "hub/test_explainer.py",  # 386 s
    "demos/test_browser.py",  # 319 s
    "hub/test_cli.py",  # 268 s
    "bots/test_bot.py",  # 172 s
    "demos/test_mcp.py",  # 157 s
    "hub/test_guard.py",  # 145 s
    "demos/test_web.py",  # 143 s
    "hub/test_crash.py",  # 109 s
    "hub/test_mini_tune.py",  # 100 s
    "hub/test_ray.py",  # 60 s
    "hub/test_mini.py",  # 58 s
    "hub/test_engine_kandinsky.py",  # 48 s
)


def pytest_collection_modifyitems(config, items):
    """The files above first, in that order; the rest after them as collected (a stable sort keeps each file's
    tests in their own order)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0].removeprefix("tests/"), len(rank)))


# A training smoke run's batches (`--set` names): the stages' plumbing at a few scenes a step. The recipe's 32-128
# made the training tests a quarter of the suite's time (the whole-recipe smoke run: 136 s of training, 38 s with
# these, session 31).
SMOKE_BATCHES = {
    "clip_batch": 8,
    "prior_batch": 8,
    "movq_batch": 4,
    "unet_batch": 4,
    "draft_batch": 4,
    "inpaint_batch": 4,
    "fastvae_batch": 4,
    "tune_text_batch": 8,
}
SMOKE_SETS = tuple(arg for key, value in SMOKE_BATCHES.items() for arg in ("--set", f"{key}={value}"))


def run(coro):
    return asyncio.run(coro)


def with_hub(settings, body, recover=False):
    """`await body(hub)` on a started Hub for `settings`, closed afterwards; its answer."""

    async def main():
        from hub.service import Hub

        hub = Hub.create(settings, recover=recover)
        await hub.start()
        try:
            return await body(hub)
        finally:
            await hub.close()

    return run(main())


@pytest.fixture(scope="session")
def placeholder_models(tmp_path_factory) -> Path:
    """The untrained mini stand-in, built once per session (models/mini-placeholder)."""
    from hub.mini.tiny import save_placeholder

    models = tmp_path_factory.mktemp("shared") / "models"
    save_placeholder(models / "mini-placeholder")
    return models


@pytest.fixture
def settings(tmp_path, placeholder_models):
    from hub.settings import Settings

    (tmp_path / "models").symlink_to(placeholder_models)
    return Settings(data_dir=tmp_path, offline=True, device="cpu", preview_every=2)


@pytest.fixture(scope="session")
def tiny_kandinsky(placeholder_models):
    """Loaded tiny Kandinsky pipelines (prior, decoder) from the placeholder folder."""
    from diffusers import KandinskyV22Pipeline, KandinskyV22PriorPipeline

    prior = KandinskyV22PriorPipeline.from_pretrained(placeholder_models / "mini-placeholder" / "prior")
    decoder = KandinskyV22Pipeline.from_pretrained(placeholder_models / "mini-placeholder" / "decoder")
    prior.set_progress_bar_config(disable=True)
    decoder.set_progress_bar_config(disable=True)
    return prior, decoder


RECORD_DOCS = os.environ.get("LIENZO_RECORD_DOCS") == "1"  # `make docs`: the recorded artefacts are redrawn


@pytest.fixture(scope="session")
def docs_dir(tmp_path_factory) -> Path:
    """Where recorded artefacts (screenshots, the bot transcript) go: the repository's docs/ under `make docs`
    (LIENZO_RECORD_DOCS=1), a temporary folder otherwise, so a test run never changes tracked files."""
    if RECORD_DOCS:
        return Path(__file__).resolve().parents[1] / "docs"
    return tmp_path_factory.mktemp("docs")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, placeholder_models):
    from demos.app import launch
    from hub.service import Hub
    from hub.settings import Settings

    data = tmp_path_factory.mktemp("web")
    (data / "models").symlink_to(placeholder_models)
    hub = Hub.create(Settings(data_dir=data, offline=True, device="cpu", preview_every=2))
    port = free_port()
    demo = launch(hub, port=port, block=False)
    yield f"http://127.0.0.1:{port}/", hub
    demo.close()


# The Generate tab's /imagine inputs after the prompt, in the form's order: small and fast by default
IMAGINE_ARGS = dict(
    negative="",
    model="mini",
    aspect="1:1",
    steps=2,
    prior_steps=2,
    guidance=4.0,
    seed=1,
    randomize=False,
    num_images=1,
    scheduler="default",
    draft=False,
)


def web_client(url, **kw):
    """A gradio_client for the web hub at `url` (each one a new visitor, with its own signed id cookie)."""
    from gradio_client import Client

    return Client(url, verbose=False, **kw)


def web_imagine(client, prompt, **kw):
    """/imagine over HTTP with IMAGINE_ARGS, `kw` overriding any of them."""
    return client.predict(prompt, *{**IMAGINE_ARGS, **kw}.values(), api_name="/imagine")


def tiny_chat(texts: list[str], vocab_size: int = 300):
    """A random-weight Llama and a byte-level BPE tokenizer trained on `texts`, with a chat template: the classes
    the catalog's small chat models load as, tiny. (model, tokenizer)"""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=["<s>", "</s>", "<pad>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    tok.chat_template = (
        "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}</s>{% endfor %}"
        "{% if add_generation_prompt %}<s>assistant:{% endif %}"
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tok),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=4096,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=2,
        )
    )
    return model, tok
