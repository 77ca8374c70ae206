"""Attacks, tried against the real web server (gradio_client, raw HTTP) and the bot's local Discord fake.

Each test here failed on the code before issue 15: the job database could be downloaded, a forged session
opened another user's history, any job id worked for anyone, uploads were decoded before they were checked,
attachments were downloaded before the interaction was acknowledged, and image URLs trusted DNS and the clock.
"""

from __future__ import annotations

import asyncio
import http.server
import os
import struct
import threading
import time
import urllib.error
import urllib.request
import zlib

import pytest
from PIL import Image

from conftest import run
from hub.errors import ImageError, LienzoError
from hub.types import ImagineRequest, Origin

ARGS = dict(
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
)


def imagine(client, prompt, **kw):
    return client.predict(prompt, *{**ARGS, **kw}.values(), api_name="/imagine")


def new_client(url, **kw):
    from gradio_client import Client

    return Client(url, verbose=False, **kw)


def bomb(path, side: int) -> str:
    """A PNG of side x side black pixels that is small on disk (a decompression bomb), made without ever
    holding its pixels: the rows are compressed as they are written."""
    raw = zlib.compressobj(9)
    row = b"\x00" * (1 + side * 3)
    body = b"".join(raw.compress(row) for _ in range(side)) + raw.flush()

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    head = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return str(path)


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakRSS:
    """The highest resident memory of this process (the server runs in it) while the block runs."""

    def __enter__(self):
        self.base, self.peak, self._stop = rss_mib(), 0.0, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, rss_mib())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.growth = max(self.peak, rss_mib()) - self.base


# --- the web hub -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alice(server):
    return new_client(server[0])


@pytest.fixture(scope="module")
def alices_job(alice):
    gallery, _, job_id = imagine(alice, "a red circle --seed 3")
    return job_id, gallery


def test_nothing_of_the_data_dir_is_served_only_unguessable_copies(server, alices_job):
    url, hub = server
    job_id, gallery = alices_job
    record = hub.get_job(job_id)
    data = hub.settings.data_dir
    for path in (data / "lienzo.sqlite3", data / "lienzo.sqlite3-wal", data / "secret.key", record.images[0]):
        assert path.exists()
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{url}gradio_api/file={path}", timeout=30)
        assert err.value.code == 403
    served = gallery[0]["image"]  # gradio_client downloaded it from the URL the server gave: a copy in its cache
    assert Image.open(served).size == (64, 64) and job_id in os.path.basename(served)


def test_a_forged_session_or_id_opens_nothing_and_the_issued_token_continues(server, alice, alices_job):
    url, _ = server
    job_id, _ = alices_job
    token = alice.cookies["lienzo_id"]
    thief = new_client(url)
    thief.session_hash = alice.session_hash  # the id Gradio lets a client choose
    forged = new_client(url, httpx_kwargs={"cookies": {"lienzo_id": token.split(".")[0] + "." + "0" * 32}})
    for client in (thief, forged):
        _, table = client.predict(api_name="/history")
        assert job_id not in str(table["data"])
    again = new_client(url, httpx_kwargs={"cookies": {"lienzo_id": token}})  # a later connection, same visitor
    _, table = again.predict(api_name="/history")
    assert job_id in str(table["data"])


def test_another_users_job_cannot_be_opened_until_it_is_shared(server, alice, alices_job):
    from gradio_client.exceptions import AppError

    job_id, _ = alices_job
    bob = new_client(server[0])
    for call in (
        lambda: bob.predict(job_id, api_name="/reuse"),
        lambda: bob.predict(job_id, 1, api_name="/vary"),
        lambda: bob.predict(job_id, 1, api_name="/vary_strong"),
        lambda: bob.predict(job_id, 1, api_name="/upscale"),
        lambda: bob.predict(job_id, True, api_name="/share"),
    ):
        with pytest.raises(AppError, match="no job with id"):  # exactly as if it did not exist
            call()
    alice.predict(job_id, True, api_name="/share")
    assert bob.predict(job_id, api_name="/reuse")[0] == "a red circle --seed 3"
    varied, _, vary_id = bob.predict(job_id, 1, api_name="/vary")
    assert varied and server[1].get_job(vary_id).user != server[1].get_job(job_id).user  # bob's own job
    with pytest.raises(AppError, match="only its owner"):
        bob.predict(job_id, False, api_name="/share")
    alice.predict(job_id, False, api_name="/share")
    with pytest.raises(AppError, match="no job with id"):
        bob.predict(job_id, api_name="/reuse")


def test_pixel_bombs_are_refused_before_decoding(server, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    client = new_client(server[0])
    calls = {
        "describe": lambda f: client.predict(f, api_name="/describe"),
        "mix": lambda f: client.predict(*(["", f, 1.0] + ["", None, 0.0] * 4), 0, api_name="/mix"),
        "explain_noise": lambda f: client.predict(f, 500, "linear", api_name="/explain_noise"),
    }
    for side in (9000, 13000):
        path = bomb(tmp_path / f"bomb{side}.png", side)
        assert os.path.getsize(path) < 1_000_000
        for name, call in calls.items():
            with PeakRSS() as mem, pytest.raises(AppError) as err:
                call(handle_file(path))
            assert "pixels; the limit is 16,777,216 pixels" in str(err.value), name
            assert mem.growth < 100, f"{name}: {side}² grew the server by {mem.growth:.0f} MiB"


def test_uploads_over_the_limit_are_refused_on_every_endpoint(server, tmp_path):
    from gradio_client import handle_file

    client = new_client(server[0])
    big = tmp_path / "big.png"
    Image.new("RGB", (8, 8)).save(big)
    with open(big, "ab") as f:  # a valid PNG header, then 30 MB
        f.write(os.urandom(30 * 2**20))
    assert _upload_status(server[0], big.read_bytes()) == 413
    f = handle_file(str(big))
    calls = [
        lambda: client.predict(f, api_name="/describe"),
        lambda: client.predict(f, api_name="/png_info"),
        lambda: client.predict(*(["", f, 1.0] + ["", None, 0.0] * 4), 0, api_name="/mix"),
        lambda: client.predict(f, 500, "linear", api_name="/explain_noise"),
    ]
    for call in calls:
        with pytest.raises(Exception, match="413|too large|exceeds"):
            call()


def _raw_call(url: str, api: str, data: list) -> str:
    """An API call as raw HTTP (json.dumps writes a lone surrogate as the escape any client may send): the text
    of its error event."""
    import json

    req = urllib.request.Request(
        f"{url}gradio_api/call/{api}",
        data=json.dumps({"data": data}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        event = json.load(resp)["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/{api}/{event}", timeout=120) as resp:
        stream = resp.read().decode()
    assert "event: error" in stream
    return stream.split("event: error", 1)[1]


def _upload_status(url: str, data: bytes) -> int:
    """The status Gradio's upload route answers a multipart upload of `data` with (it may answer and close
    before the whole body is sent: then the answer is read after the send fails)."""
    import http.client
    import urllib.parse

    body = (
        b'--lienzo\r\nContent-Disposition: form-data; name="files"; filename="big.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + data + b"\r\n--lienzo--\r\n"
    )
    where = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    try:
        conn.putrequest("POST", "/gradio_api/upload")
        conn.putheader("Content-Type", "multipart/form-data; boundary=lienzo")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        try:
            for i in range(0, len(body), 1 << 20):
                conn.send(body[i : i + (1 << 20)])
        except OSError:
            pass  # refused mid-body: its answer is waiting
        return conn.getresponse().status
    finally:
        conn.close()


def test_broken_files_and_odd_input_are_answered_in_words(server, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    client = new_client(server[0])
    good = tmp_path / "good.png"
    Image.new("RGB", (32, 32), "red").save(good)
    files = {"zero.png": b"", "text.png": b"hello, not an image", "cut.png": good.read_bytes()[:60]}
    answers = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        for api in ("/describe", "/png_info"):
            with pytest.raises(AppError) as err:
                client.predict(handle_file(str(tmp_path / name)), api_name=api)
            answers.append(str(err.value))
    for prompt in ("a cat --seed " + "9" * 5000, "a \x00 cat"):
        with pytest.raises(AppError) as err:
            imagine(client, prompt)
        answers.append(str(err.value))
    answers.append(_raw_call(server[0], "imagine", ["a \ud800 cat", *ARGS.values()]))  # JSON can carry half an emoji
    assert "not text (U+D800" in answers[-1]
    with pytest.raises(AppError) as err:
        imagine(client, "a cat", prior_steps=1)
    answers.append(str(err.value))
    for text in answers:
        assert not any(leak in text for leak in ("Traceback", "Error:", "<_io", "/tmp", "0x7f", "\\ud800", "codec"))
        assert len(text) < 400
    assert any("not a readable image" in a for a in answers) and any("cut short" in a for a in answers)
    assert any("prior_num_inference_steps 1 is out of range: 2 to 100" in a for a in answers)


# --- image URLs -------------------------------------------------------------------------------------------


def test_an_allowed_name_that_resolves_to_a_private_address_is_never_fetched(settings):
    from hub.service import Hub

    async def body():
        hub = Hub.create(settings.with_(allowed_image_hosts=("localhost", "169.254.169.254", "10.0.0.8")))
        try:
            for url in (
                "https://localhost/cat.png",
                "https://169.254.169.254/latest/meta-data",
                "https://10.0.0.8/a.png",
                "http://localhost/cat.png",
                "https://localhost:8443/a.png",
            ):
                with pytest.raises(ImageError) as err:
                    await hub.imagine(ImagineRequest(f"{url} a cat", origin=Origin("eve")))
                out.append(str(err.value))
        finally:
            await hub.close()

    out: list[str] = []
    run(body())
    assert all("private or local address" in m for m in out[:3]) and all(
        "https on the standard port" in m for m in out[3:]
    )


class Trickle(http.server.BaseHTTPRequestHandler):
    """An image host that never finishes: headers, then 12 bytes at a time, until told to stop."""

    connected = threading.Event()
    stop = threading.Event()

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        Trickle.connected.set()
        while not Trickle.stop.wait(0.2):
            try:
                self.wfile.write(b"\x89PNG\r\n\x1a\n1234")
                self.wfile.flush()
            except OSError:
                return

    def log_message(self, *args):
        pass


def test_a_trickling_host_is_cut_at_the_deadline_and_never_holds_the_device(settings):
    from hub.service import Hub

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{httpd.server_address[1]}"
    url = f"{origin}/slow.png a cat"

    async def body():
        hub = Hub.create(settings.with_(image_test_origins=(origin,), image_fetch_seconds=1.0))
        slow = Hub.create(settings.with_(image_test_origins=(origin,), image_fetch_seconds=120.0))
        try:
            with pytest.raises(
                ImageError, match="took longer than 1 s"
            ):  # bytes keep coming: only a total deadline ends it
                await hub.imagine(ImagineRequest(url, origin=Origin("eve")))
            Trickle.connected.clear()
            stuck = asyncio.create_task(slow.imagine(ImagineRequest(url, origin=Origin("eve"))))
            await asyncio.to_thread(Trickle.connected.wait)
            other = await slow.imagine(
                ImagineRequest("a blue square", num_images=1, num_inference_steps=2, origin=Origin("ana"))
            )
            await other.result()  # served while eve's download still trickles: it never held the device
            still = not stuck.done()
            Trickle.stop.set()
            with pytest.raises(LienzoError):
                await stuck
            return still
        finally:
            await hub.close()
            await slow.close()

    try:
        assert run(body())
    finally:
        Trickle.stop.set()
        httpd.shutdown()


# --- Discord ------------------------------------------------------------------------------------------------


def test_five_10MB_attachments_behind_a_slow_cdn_are_acknowledged_in_time(settings):
    import io

    import numpy as np

    from test_bot import discord_bot, done_message, send

    noise = np.random.default_rng(0).integers(0, 256, (1830, 1830, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, format="PNG", compress_level=0)
    data = buf.getvalue()
    assert len(data) > 9.5 * 2**20  # 10 MB each

    async def main():
        async with discord_bot(settings.with_(image_fetch_seconds=60.0)) as (fake, bot):
            atts = {f"image{i}": fake.attach(f"big{i}.png", data, 1830, 1830, delay=0.5) for i in range(1, 6)}
            cmd = fake.command("blend", "71", attachments=atts)
            started = time.monotonic()
            send(bot, cmd)
            await fake.wait_for(lambda: fake.interactions[cmd["token"]].acked)
            acked = fake.interactions[cmd["token"]].ack_after
            grid = await fake.wait_for(lambda: done_message(fake, cmd["token"]), timeout=300)
            return acked, time.monotonic() - started, grid, fake.violations

    acked, _, grid, violations = run(main())
    assert acked < 3.0 and "/blend of 5 images" in grid["content"] and violations == []


def test_show_and_buttons_of_anothers_job_are_refused_unless_admin(settings):
    from test_bot import discord_bot, done_message, ephemeral, send

    ADMINISTRATOR = 1 << 3

    async def main():
        async with discord_bot(settings) as (fake, bot):
            cmd = fake.command("imagine", "81", prompt="a red circle --q .25")
            send(bot, cmd)
            grid = await fake.wait_for(lambda: done_message(fake, cmd["token"]))
            job = fake.custom_ids(grid)[0].split(":")[2]
            show = fake.command("show", "82", permissions=0, job_id=job)
            click = fake.click(grid, f"lz:v:{job}:0", "82")
            admin = fake.command("show", "83", permissions=ADMINISTRATOR, job_id=job)
            for payload in (show, click, admin):
                send(bot, payload)
            refused = [await fake.wait_for(lambda p=p: ephemeral(fake, p["token"])) for p in (show, click)]
            shown = await fake.wait_for(lambda: done_message(fake, admin["token"]))
            return [r[0]["content"] for r in refused], shown, fake.violations

    refused, shown, violations = run(main())
    assert all("no job with id" in r for r in refused)
    assert shown["attachments"] and violations == []


def test_the_discord_fake_refuses_what_discords_published_schema_refuses():
    """The fake checks the bot's payloads against Discord's OpenAPI schemas (tests/fakes/discord_schemas.json) and
    the rules Discord states in prose, so it cannot accept what Discord would refuse."""
    from bots.app import command_payloads
    from fakes.discord_api import SCHEMAS, command_problem

    ok_edit = {"content": "hi", "attachments": [{"id": "0", "filename": "a.png"}], "allowed_mentions": {"parse": []}}
    assert SCHEMAS.problems("webhook_edit", ok_edit) == []
    assert SCHEMAS.problems("webhook_edit", {**ok_edit, "attachments": [{"id": 0, "filename": "a.png"}]})
    assert SCHEMAS.problems("webhook_edit", {**ok_edit, "allowed_mentions": {"parse": ["everybody"]}})
    assert SCHEMAS.problems("callback", {"type": 4, "data": {"content": "x" * 2001}})
    assert SCHEMAS.problems("commands", command_payloads()) == []
    assert all(command_problem(c) is None for c in command_payloads())
    sub = {
        "name": "tune",
        "description": "d",
        "options": [
            {
                "type": 1,
                "name": "set",
                "description": "d",
                "options": [
                    {"type": 3, "name": "opt", "description": "d"},
                    {"type": 3, "name": "req", "description": "d", "required": True},
                ],
            }
        ],
    }
    assert SCHEMAS.problems("commands", [sub]) == []  # the schema cannot say it ...
    assert "comes after an optional one" in command_problem(sub)  # ... Discord's documentation does
    sub["options"][0]["options"][0]["name"] = "Bad Name"  # nested two levels down: still checked
    assert "option name 'Bad Name' is invalid" in command_problem(sub)
    assert SCHEMAS.problems("commands", [{**sub, "type": 9}])


def test_each_mcp_connection_is_its_own_user(tmp_path, placeholder_models):
    """MCP clients send no cookies: each MCP session is one visitor, and sees only its own jobs."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    from conftest import free_port
    from demos.app import launch
    from hub.service import Hub
    from hub.settings import Settings

    (tmp_path / "models").symlink_to(placeholder_models)
    port = free_port()
    demo = launch(Hub.create(Settings(data_dir=tmp_path, offline=True, device="cpu")), port=port, block=False, mcp=True)
    url = f"http://127.0.0.1:{port}/gradio_api/mcp/"

    async def session(calls):
        async with streamablehttp_client(url) as (read, write, _), ClientSession(read, write) as s:
            await s.initialize()
            return [str((await s.call_tool(name, args)).content) for name, args in calls]

    async def main():
        made, mine = await session(
            [
                (
                    "imagine",
                    {
                        "prompt": "a red circle",
                        "negative": "",
                        "steps": 2,
                        "prior_steps": 2,
                        "num_images": 1,
                        "randomize": False,
                        "seed": 5,
                    },
                ),
                ("history", {}),
            ]
        )
        [theirs] = await session([("history", {})])
        return made, mine, theirs

    try:
        made, mine, theirs = run(main())
    finally:
        demo.close()
    assert "a red circle" in mine and "'data': []" in theirs


def test_serve_with_bot_keeps_the_web_hub_up_while_discord_cannot_be_reached(settings):
    """`lienzo serve --bot` with Discord unreachable: the web hub answers, and the bot keeps retrying."""
    import logging

    import discord

    from conftest import free_port
    from hub.cli import serve_with_bot
    from hub.service import Hub

    class Retries(logging.Handler):
        def __init__(self, loop, event):
            super().__init__()
            self.loop, self.event = loop, event

        def emit(self, record):
            if "cannot be reached" in record.getMessage():
                self.loop.call_soon_threadsafe(self.event.set)

    async def main():
        dead = free_port()  # nothing listens there
        old, discord.http.Route.BASE = discord.http.Route.BASE, f"http://127.0.0.1:{dead}/api/v10"
        hub, port = Hub.create(settings), free_port()
        listening, retrying = asyncio.Event(), asyncio.Event()
        handler = Retries(asyncio.get_running_loop(), retrying)
        logging.getLogger("lienzo.serve").addHandler(handler)
        servers = []
        task = asyncio.create_task(
            serve_with_bot(
                hub, "fake-token", port=port, gateway=False, web_ready=lambda s: (servers.append(s), listening.set())
            )
        )
        try:
            await asyncio.wait_for(asyncio.gather(listening.wait(), retrying.wait()), 60)
            client = await asyncio.to_thread(new_client, f"http://127.0.0.1:{port}/")
            return await asyncio.to_thread(imagine, client, "a web square")
        finally:
            logging.getLogger("lienzo.serve").removeHandler(handler)
            for s in servers:
                s.should_exit = True
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await hub.close()
            discord.http.Route.BASE = old

    gallery, _, job_id = run(main())
    assert gallery and job_id


def test_a_busy_port_is_one_clear_line_and_exit_code_2(tmp_path):
    import socket
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "hub.cli", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "LIENZO_DATA_DIR": str(tmp_path)},
        )
    assert proc.returncode == 2 and proc.stderr.strip() == (
        f"error: port {port} on 127.0.0.1 is already in use (another server?); pass --port with a free port or stop "
        "the other server"
    )
