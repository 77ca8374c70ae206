"""Property: every request a client can send either succeeds or raises Lienzo's typed error, in words.

Hypothesis writes the requests: the prompt grammar with its flags (well-formed, malformed, huge, control
characters, half emoji pairs), numbers of any size and type where an API caller could send any JSON, job ids
of any shape, image bytes that are not images. A request that passes the checks is queued and cancelled
at once (running it is the other tests' business).

Profiles: the default suite runs a few hundred examples; `pytest tests/hub/test_fuzz.py
--hypothesis-profile=thorough` runs 10,000 per test.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from hub.errors import LienzoError
from hub.types import (
    ChatMessage,
    ChatRequest,
    DescribeRequest,
    ExpandRequest,
    ImagineRequest,
    MixItem,
    MixRequest,
    Origin,
    ShortenRequest,
    UpscaleRequest,
    VaryRequest,
)

INTERNALS = re.compile(
    r"Traceback|\w+Error\b|\w+Exception\b|object at 0x|<[\w.]+ object|\\u[0-9a-f]{4}|\\x[0-9a-f]{2}|"
    r"__\w+__|\.py\b|/tmp/|site-packages|NoneType|codec can't"
)

FLAGS = [
    "--ar",
    "--aspect",
    "--seed",
    "--no",
    "--chaos",
    "--c",
    "--q",
    "--quality",
    "--stop",
    "--s",
    "--stylize",
    "--tile",
    "--iw",
    "--fast",
    "--relax",
    "--v",
    "--niji",
    "--weird",
    "--",
    "—ar",
    "::",
    "::-2",
    "::1e9",
]
WORDS = [
    "a",
    "red",
    "circle",
    "un",
    "círculo",
    "rojo",
    "above",
    "16:9",
    "0:0",
    "9" * 60,
    "-1",
    "nan",
    "inf",
    "1e309",
    "4:1",
    "1:5",
    "٣",
    "🙂",
    "\ud800",
    "\x00",
    "\u202e",
    "https://cdn.discordapp.com/x.png",
    "http://10.0.0.1/x",
    "@everyone",
    "<@&1>",
    " ",
    "\n",
    "",
]
prompts = st.one_of(
    st.lists(st.one_of(st.sampled_from(FLAGS), st.sampled_from(WORDS), st.text(max_size=12)), max_size=14).map(
        " ".join
    ),
    st.text(max_size=200),
    st.integers(0, 3).map(lambda n: "a cat " * [1, 400, 1001, 1200][n]),
)
anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**80), 2**80),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=2),
)
maybe_int = st.one_of(st.none(), st.integers(-10, 2000), st.integers(-(2**70), 2**70), anything)
maybe_float = st.one_of(st.none(), st.floats(-50, 50), st.floats(allow_nan=True, allow_infinity=True), anything)
models = st.one_of(
    st.none(), st.sampled_from(["mini", "kandinsky-2.2", "sd-1.5", "mini-text", "nope", ""]), st.text(max_size=30)
)
job_ids = st.one_of(
    st.text(max_size=50), st.sampled_from(["", " ", "0" * 10, "../../etc/passwd", "' OR 1=1 --", "a" * 1000]), anything
)
image_bytes = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"GIF89a\x01\x00", b"\xff\xd8\xff\xe0" + b"\x00" * 40]),
    anything,
)

# a dedicated loop and Hub per test module: Hypothesis calls the test body many times


@pytest.fixture(scope="module")
def hub(tmp_path_factory, placeholder_models):
    from hub.service import Hub
    from hub.settings import Settings

    data = tmp_path_factory.mktemp("fuzz")
    (data / "models").symlink_to(placeholder_models)
    loop = asyncio.new_event_loop()
    h = Hub.create(Settings(data_dir=data, offline=True, device="cpu", max_queue=10_000, user_max_jobs=10_000))
    yield h, loop
    loop.run_until_complete(h.close())
    loop.close()


def answered(hub_loop, make_call) -> None:
    """Run one request: it either succeeds (then its job is cancelled) or raises LienzoError in words."""
    hub, loop = hub_loop

    async def once():
        try:
            out = await make_call(hub)
        except LienzoError as exc:
            text = str(exc)
            assert text and len(text) < 1500, text[:200]
            ours = re.sub(r"“[^”]*”", "“…”", text)  # what the user typed comes back quoted: judge the rest
            assert not INTERNALS.search(ours), text[:300]
            return
        job_id = getattr(out, "job_id", None)
        if job_id:
            hub.cancel(job_id)

    loop.run_until_complete(once())


FUZZ = hsettings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)


@FUZZ
@given(
    prompt=prompts,
    negative=st.one_of(st.text(max_size=30), anything),
    model=models,
    n=maybe_int,
    w=maybe_int,
    h=maybe_int,
    steps=maybe_int,
    guidance=maybe_float,
    prior_steps=maybe_int,
    prior_guidance=maybe_float,
    seed=maybe_int,
    flags=st.booleans(),
)
def test_imagine_answers_every_input_in_words(
    hub, prompt, negative, model, n, w, h, steps, guidance, prior_steps, prior_guidance, seed, flags
):
    answered(
        hub,
        lambda hb: hb.imagine(
            ImagineRequest(
                prompt,
                negative_prompt=negative,
                model=model,
                num_images=n,
                width=w,
                height=h,
                num_inference_steps=steps,
                guidance_scale=guidance,
                prior_num_inference_steps=prior_steps,
                prior_guidance_scale=prior_guidance,
                seed=seed,
                parse_flags=flags,
                origin=Origin("fuzz"),
            )
        ),
    )


@FUZZ
@given(
    items=st.lists(
        st.tuples(st.one_of(st.none(), prompts), st.one_of(st.none(), image_bytes), maybe_float), max_size=7
    ),
    seed=maybe_int,
    n=maybe_int,
    w=maybe_int,
)
def test_mix_answers_every_input_in_words(hub, items, seed, n, w):
    mix_items = tuple(MixItem(text=t, image=i, weight=1.0 if wt is None else wt) for t, i, wt in items)
    answered(hub, lambda hb: hb.mix(MixRequest(mix_items, seed=seed, num_images=n, width=w, origin=Origin("fuzz"))))


@FUZZ
@given(
    job=job_ids,
    index=maybe_int,
    strength=st.one_of(st.sampled_from(["subtle", "strong"]), anything),
    factor=maybe_int,
    up_strength=maybe_float,
    seed=maybe_int,
    who=st.sampled_from(["fuzz", "owner"]),
)
def test_vary_and_upscale_answer_every_input_in_words(hub, job, index, strength, factor, up_strength, seed, who):
    answered(hub, lambda hb: hb.vary(VaryRequest(job, index, strength, seed=seed, origin=Origin(who))))
    answered(
        hub,
        lambda hb: hb.upscale(
            UpscaleRequest(job, index, factor=factor, strength=up_strength, seed=seed, origin=Origin(who))
        ),
    )


@FUZZ
@given(image=image_bytes, model=models, text=prompts)
def test_describe_and_shorten_answer_every_input_in_words(hub, image, model, text):
    answered(hub, lambda hb: hb.describe(DescribeRequest(image, model=model, origin=Origin("fuzz"))))
    if isinstance(model, str) and model in ("mini", "kandinsky-2.2"):  # shorten runs: keep it to garbage mostly
        answered(hub, lambda hb: hb.shorten(ShortenRequest(text[:40] or "x", model=model, origin=Origin("fuzz"))))


@FUZZ
@given(
    text=prompts,
    tokens=maybe_int,
    temperature=maybe_float,
    seed=maybe_int,
    model=models,
    roles=st.lists(st.one_of(st.sampled_from(["user", "assistant", "system"]), anything), min_size=0, max_size=3),
)
def test_expand_and_chat_answer_every_input_in_words(hub, text, tokens, temperature, seed, model, roles):
    answered(
        hub,
        lambda hb: hb.expand(ExpandRequest(text, model=model, max_new_tokens=tokens, seed=seed, origin=Origin("fuzz"))),
    )
    messages = tuple(ChatMessage(r, text) for r in roles)
    answered(
        hub,
        lambda hb: hb.chat(
            ChatRequest(
                messages, model=model, max_new_tokens=tokens, temperature=temperature, seed=seed, origin=Origin("fuzz")
            )
        ),
    )
