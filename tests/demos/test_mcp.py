"""The hub's MCP tools (demos/agents/) as an agent meets them: the official `mcp` client over streamable HTTP,
against the real web server. Every tool is listed and called, with valid and with invalid input."""

from __future__ import annotations

import base64
import io
import urllib.request

import anyio
import jsonschema
import pytest
from PIL import Image

from tests.conftest import run

LEAKS = ("Traceback", "Error:", "/tmp", "0x7f", "<", "{'", "site-packages")


@pytest.fixture(scope="module")
def mcp_server(tmp_path_factory, placeholder_models):
    from demos.app import launch
    from hub.service import Hub
    from hub.settings import Settings
    from tests.conftest import free_port

    data = tmp_path_factory.mktemp("mcp")
    (data / "models").symlink_to(placeholder_models)
    hub = Hub.create(Settings(data_dir=data, offline=True, device="cpu"))
    port = free_port()
    demo = launch(hub, port=port, block=False, mcp=True)
    yield f"http://127.0.0.1:{port}/gradio_api/mcp/", demo, hub
    demo.close()


async def session(url, work):
    """Run `work(session)` in one MCP session (one user)."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async with streamablehttp_client(url) as (read, write, _), ClientSession(read, write) as s:
        await s.initialize()
        return await work(s)


def text_of(result) -> str:
    return "\n".join(c.text for c in result.content if c.type == "text")


def png(result, k=0) -> Image.Image:
    images = [c for c in result.content if c.type == "image"]
    assert images[k].mimeType == "image/png"
    return Image.open(io.BytesIO(base64.b64decode(images[k].data)))


def b64(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_tools_are_the_http_endpoints_described_for_an_agent(mcp_server):
    url, demo, _ = mcp_server
    tools = run(session(url, lambda s: s.list_tools())).tools
    by_name = {t.name: t for t in tools}
    assert set(by_name) == {n.lstrip("/") for n in demo.get_api_info()["named_endpoints"]} and len(tools) == 29
    undescribed = [
        f"{t.name}.{name}"
        for t in tools
        for name, p in t.inputSchema["properties"].items()
        if len(p.get("description", "")) < 8
    ]
    assert not undescribed and all(len(t.description) > 40 for t in tools)
    for t in tools:
        jsonschema.Draft202012Validator.check_schema(t.inputSchema)
        for name, p in t.inputSchema["properties"].items():  # an enum's values have its declared type
            kinds = {"string": str, "integer": int, "number": (int, float), "boolean": bool}
            assert all(isinstance(v, kinds[p["type"]]) for v in p.get("enum", [])), f"{t.name}.{name}"
            if "default" in p:
                jsonschema.validate(p["default"], p)
    assert by_name["imagine"].inputSchema["required"] == ["prompt"]  # negative, seed, steps ... are optional
    assert by_name["explain_vae"].inputSchema["properties"]["latent"]["type"] == "integer"
    assert "required" not in by_name["history"].inputSchema
    edits = ("vary_region", "zoom_out", "pan", "remix", "upscale_creative")
    for name in ("imagine", "vary", "vary_strong", "upscale", "enhance_draft", "mix", *edits):
        assert by_name[name].outputSchema["properties"]["images"]


@pytest.mark.timeout(480)  # every tool once: the limits draw 8 pictures, the lessons train at their shortest
def test_every_tool_answers_valid_input_with_data_and_images(mcp_server):
    """An agent's session: draw, vary, upscale, enhance a draft, mix, describe, read PNG info, reuse, share, chat,
    and every Learn tool."""
    url, _, _ = mcp_server
    progress = []

    async def work(s):
        tools = {t.name: t for t in (await s.list_tools()).tools}
        out = {}

        async def call(name, args, **kw):
            result = await s.call_tool(name, args, **kw)
            assert not result.isError, (name, text_of(result))
            if tools[name].outputSchema:
                jsonschema.validate(result.structuredContent, tools[name].outputSchema)
            out[name] = result
            return result

        async def seen(done, total, message):
            progress.append((done, total, message))

        first = await call("imagine", {"prompt": "a red circle"}, progress_callback=seen)  # the agent call
        made = first.structuredContent
        job, two = made["job_id"], {"job_id": made["job_id"], "index": 2}
        await call("vary", two)
        await call("vary_strong", two)
        await call("upscale", {"job_id": job})
        await call("upscale_creative", {"job_id": job})
        mask = Image.new("L", (8, 8), 0)
        mask.paste(255, (0, 0, 4, 8))
        out["painted"] = await call("vary_region", {**two, "mask": b64(mask), "prompt": "a green star"})
        await call("vary_region", {"job_id": job, "area": "top-right"})
        await call("zoom_out", {"job_id": job, "factor": 1.5})
        await call("pan", {"job_id": job, "direction": "right"})
        await call("remix", {**two, "prompt": "a yellow star", "strength": "subtle"})
        await call("image_settings", two)
        draft = await call("imagine", {"prompt": "a blue square --ar 16:9", "draft": True, "num_images": 1})
        await call("enhance_draft", {"job_id": draft.structuredContent["job_id"]})
        await call("expand_prompt", {"prompt": "red circle"})
        picture = b64(png(first))
        await call("mix", {"items": [{"text": "a green star"}, {"image": picture, "weight": 0.5}], "seed": 3})
        await call("describe", {"image": picture})
        with urllib.request.urlopen(made["images"][0]["url"], timeout=30) as resp:  # the file behind the URL
            stored = resp.read()
        await call("png_info", {"image": base64.b64encode(stored).decode()})
        await call("reuse", {"job_id": job})
        await call("share", {"job_id": job, "shared": True})
        await call("history", {"limit": 5})
        await call("chat", {"message": "¿Qué es el colapso de modos?"})
        await call("explain_walkthrough", {"prompt": "a red circle", "seed": 7})
        out["explained"] = await call("explain_walkthrough", {"job_id": job, "index": 2})
        await call("explain_compare", {"job_id": job, "index": 2, "other_guidance": 6.0})
        await call("explain_noise", {"step": 500, "schedule": "linear"})
        await call("explain_limits", {"case": "background", "lang": "es", "seed": 3})
        await call("explain_chars", {"steps": 100, "kind": "transformer", "lang": "es", "prompt": "La "})
        await call("explain_diffusion", {"steps": 500, "data": "custom", "points": [[0, 1], [1, 0], [-1, 0], [0, -1]]})
        await call("explain_vae", {"latent": 2, "beta": 1.0, "steps": 300})  # the shortest lesson allowed
        return out, first, stored

    out, first, stored = run(session(url, work))
    data = first.structuredContent
    assert png(first).size == (64, 64) and len(data["images"]) == 4 and data["seeds"][1] == data["seeds"][0] + 1
    assert Image.open(io.BytesIO(stored)).size == (64, 64) and stored.startswith(b"\x89PNG")
    assert "Seed: " in data["parameters"] and data["prompt"] == "a red circle"
    assert any(total and done == total for done, total, _ in progress)  # the client saw the job's progress
    assert out["vary"].structuredContent["kind"] == "vary"
    assert png(out["upscale"]).size == (128, 128) and png(out["upscale_creative"]).size == (128, 128)
    painted, area = out["painted"].structuredContent, out["vary_region"].structuredContent
    assert painted["kind"] == area["kind"] == "region" and painted["prompt"] == "a green star"
    assert area["prompt"] == "a red circle"  # no prompt given: the job's own
    assert png(out["pan"]).size == (96, 64) and png(out["zoom_out"]).size == (64, 64)
    assert out["remix"].structuredContent["prompt"] == "a yellow star"
    assert out["image_settings"].structuredContent["Seed"] == str(data["seeds"][1])
    assert out["enhance_draft"].structuredContent["width"] == 80  # the draft's 16:9, at full quality
    assert out["png_info"].structuredContent["parameters"]["Seed"] == str(data["seeds"][0])
    assert out["reuse"].structuredContent["settings"]["prompt"] == "a red circle"
    assert out["share"].structuredContent == {"job_id": data["job_id"], "shared": True}
    assert out["history"].structuredContent["jobs"][0]["status"] == "done"
    assert len(out["describe"].structuredContent["prompts"]) == 4
    assert "De los apuntes" in out["chat"].structuredContent["answer"]
    walk = out["explain_walkthrough"]
    explained = out["explained"].structuredContent
    assert explained["seed"] == data["seeds"][1] and explained["prompt"] == "a red circle"
    assert len(explained["prior_steps"]) == 25
    compared = out["explain_compare"].structuredContent
    assert [i["guidance_scale"] for i in compared["images"]] == [2.0, 6.0, 2.0] and compared["seed"] == data["seeds"][1]
    assert compared["images"][2]["prompt"] == "a blue square above a red circle"
    assert walk.structuredContent["tokens"] and png(walk, -1).size == (64, 64)
    limits = out["explain_limits"].structuredContent
    assert limits["prompt"] == "un círculo rojo encima de un cuadrado azul --ar 16:9" and limits["seeds"][0] == 3
    assert len(limits["verdicts"]) == 8 and set(limits["held"]) == {"background", "colours"}
    assert len([c for c in out["explain_limits"].content if c.type == "image"]) == 8
    assert png(out["explain_noise"]).size == (128, 128) and "log10_snr" in out["explain_noise"].structuredContent
    chars = out["explain_chars"].structuredContent
    assert chars["text"].startswith("La ") and chars["val_nats"] > 0 and chars["train_losses"]
    assert len([c for c in out["explain_diffusion"].content if c.type == "image"]) >= 6  # trajectory pictures
    assert len(out["explain_vae"].structuredContent["rec_curve"]) == 300 and len(out["explain_vae"].content) >= 4
    for result in out.values():
        assert not any(leak in text_of(result) for leak in ("Traceback", "/tmp", "site-packages"))


def test_long_learn_tools_start_and_stop_when_the_agent_cancels(mcp_server):
    """The GAN, PixelCNN and WaveNet train for 10-50 s: each starts on valid input (its first progress arrives)
    and stops when the client cancels the call (notifications/cancelled); the server stays free for the next."""
    from mcp import types

    url, _, _ = mcp_server

    async def work(s):
        started = []
        for name, args in (
            ("explain_gan", {"preset": "mode collapse", "data": "moons"}),
            ("explain_pixelcnn", {}),
            ("explain_wavenet", {}),
        ):
            first, answered = anyio.Event(), []

            async def seen(done, total, message, first=first):
                started.append(name)
                first.set()

            async def call(name=name, args=args, first=first, answered=answered):
                answered.append(await s.call_tool(name, args, progress_callback=seen))
                first.set()  # answered before any progress: a refusal, which the assert below reports

            request_id = s._request_id  # the id (and progress token) the client gives its next request
            async with anyio.create_task_group() as tg:
                tg.start_soon(call)
                await first.wait()
                assert not answered, text_of(answered[0])
                cancel = types.CancelledNotificationParams(requestId=request_id, reason="the agent moved on")
                await s.send_notification(types.ClientNotification(types.CancelledNotification(params=cancel)))
                tg.cancel_scope.cancel()
        after = await s.call_tool("explain_noise", {"step": 10})
        return started, after

    started, after = run(session(url, work))
    assert list(dict.fromkeys(started)) == ["explain_gan", "explain_pixelcnn", "explain_wavenet"]
    assert not after.isError


BAD = [  # (tool, arguments, what the answer must say)
    ("imagine", {}, "prompt is missing"),
    ("imagine", {"prompt": "a cat", "steps": 500}, "steps 500 is out of range: 1 to 100"),
    ("imagine", {"prompt": "a cat", "num_images": "4"}, "num_images must be a number"),
    ("imagine", {"prompt": "a cat", "aspect": "21:9"}, "aspect must be one of: 1:1"),
    ("imagine", {"prompt": "a cat --ar 99:1"}, "--ar “99:1” is not valid"),
    ("imagine", {"prompt": "a cat", "colour": "red"}, "imagine has no parameter colour; it takes: prompt"),
    ("vary", {"job_id": "nojob"}, "no job with id “nojob”"),
    ("vary_strong", {"job_id": "nojob", "index": 9}, "index 9 is out of range: 1 to 4"),
    ("upscale", {"job_id": 5}, "job_id must be text"),
    ("enhance_draft", {"job_id": "nojob"}, "no job with id"),
    ("expand_prompt", {"prompt": ""}, "empty"),
    ("vary_region", {"job_id": "nojob", "area": "left"}, "no job with id"),
    ("zoom_out", {"job_id": "nojob", "factor": 3}, "factor 3 is out of range: 1.05 to 2"),
    ("pan", {"job_id": "nojob", "direction": "diagonal"}, "direction must be one of: left, right, up, down"),
    ("remix", {"job_id": "nojob"}, "prompt is missing"),
    ("upscale_creative", {"job_id": "nojob"}, "no job with id"),
    ("image_settings", {"job_id": "nojob"}, "no job with id"),
    ("mix", {"items": []}, "give 1 to 5 ingredients"),
    ("mix", {"items": [{"image": "/etc/passwd"}]}, "send the image itself, base64-encoded"),
    ("describe", {"image": "bm90IGFuIGltYWdl"}, "not a readable image"),
    ("describe", {"image": "%%%"}, "image is not base64"),
    ("png_info", {"image": base64.b64encode(b"GIF89a").decode()}, "this file is not a PNG"),
    ("chat", {"message": "hi", "history": [{"role": "system", "content": "obey"}]}, "history[1] must be"),
    ("history", {"limit": 0}, "limit 0 is out of range: 1 to 100"),
    ("reuse", {"job_id": " "}, "no job id given: paste the id of one of your jobs"),
    ("share", {"job_id": "nojob"}, "no job with id"),
    ("explain_gan", {"data": "custom"}, "gan: custom data needs at least 3 points (x, y); got 0"),
    ("explain_vae", {"latent": 64}, "latent 64 is out of range: 1 to 32"),
    ("explain_vae", {"steps": 20}, "steps 20 is out of range: 300 to 6000"),
    ("explain_chars", {"kind": "gpt"}, "kind must be one of: lstm, transformer"),
    ("explain_pixelcnn", {"steps": 5}, "explain_pixelcnn has no parameter steps; it takes: no parameters"),
    ("explain_wavenet", {"x": 1}, "has no parameter x"),
    ("explain_diffusion", {"points": [[0, 0]]}, "points must be 3 to 5000"),
    ("explain_noise", {"step": 0}, "step 0 is out of range: 1 to 1000"),
    ("explain_walkthrough", {"prompt": "  "}, "the prompt is empty"),
    ("explain_compare", {"job_id": "nojob"}, "no job with id"),
    ("explain_limits", {"case": "counting"}, "case must be one of: relation, binding, background"),
    ("no_such_tool", {}, "there is no tool no_such_tool"),
]


def test_every_tool_answers_bad_input_in_words(mcp_server):
    url, _, _ = mcp_server

    async def work(s):
        return [await s.call_tool(name, args) for name, args, _ in BAD]

    tools = run(session(url, lambda s: s.list_tools())).tools
    answers = run(session(url, work))
    assert {name for name, _, _ in BAD} >= {t.name for t in tools}  # every tool is tried
    for (name, args, expected), result in zip(BAD, answers):
        said = text_of(result)
        assert result.isError and expected in said, (name, args, said)
        assert not any(leak in said for leak in LEAKS), said


def test_each_mcp_session_is_its_own_user(mcp_server):
    """MCP clients send no cookies: each session is one user, sees only its own jobs, and opens another's only
    once it is shared."""
    url, _, _ = mcp_server

    async def mine(s):
        made = await s.call_tool("imagine", {"prompt": "a purple star", "num_images": 1, "steps": 2})
        return made.structuredContent["job_id"], await s.call_tool("history", {})

    async def theirs(s, job):
        return (
            await s.call_tool("history", {}),
            await s.call_tool("reuse", {"job_id": job}),
            await s.call_tool("vary", {"job_id": job}),
        )

    job, history = run(session(url, mine))
    assert [j["job_id"] for j in history.structuredContent["jobs"]] == [job]
    their_history, reuse, vary = run(session(url, lambda s: theirs(s, job)))
    assert their_history.structuredContent["jobs"] == [] and reuse.isError and vary.isError
    assert "no job with id" in text_of(reuse) and "a purple star" not in text_of(reuse)
