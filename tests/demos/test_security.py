"""Attacks on the web hub, tried against the real server (gradio_client, raw HTTP, the official mcp client).

Each failed on the code before issue 15: the job database could be downloaded, a forged session opened
another user's history, any job id worked for anyone, uploads were decoded before they were checked.
"""

from __future__ import annotations

import os
import struct
import threading
import urllib.error
import urllib.request
import zlib

import pytest
from PIL import Image

from tests.conftest import IMAGINE_ARGS, web_client, web_imagine


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


@pytest.fixture(scope="module")
def alice(server):
    return web_client(server[0])


@pytest.fixture(scope="module")
def alices_job(alice):
    gallery, _, job_id = web_imagine(alice, "a red circle --seed 3")
    return job_id, gallery


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
    thief = web_client(url)
    thief.session_hash = alice.session_hash  # the id Gradio lets a client choose
    forged = web_client(url, httpx_kwargs={"cookies": {"lienzo_id": token.split(".")[0] + "." + "0" * 32}})
    for client in (thief, forged):
        _, table = client.predict(api_name="/history")
        assert job_id not in str(table["data"])
    again = web_client(url, httpx_kwargs={"cookies": {"lienzo_id": token}})  # a later connection, same visitor
    _, table = again.predict(api_name="/history")
    assert job_id in str(table["data"])


def test_another_users_job_cannot_be_opened_until_it_is_shared(server, alice, alices_job):
    from gradio_client.exceptions import AppError

    job_id, _ = alices_job
    bob = web_client(server[0])
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

    client = web_client(server[0])
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

    client = web_client(server[0])
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


def test_broken_files_and_odd_input_are_answered_in_words(server, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    client = web_client(server[0])
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
            web_imagine(client, prompt)
        answers.append(str(err.value))
    # JSON can carry half an emoji
    answers.append(_raw_call(server[0], "imagine", ["a \ud800 cat", *IMAGINE_ARGS.values()]))
    assert "not text (U+D800" in answers[-1]
    with pytest.raises(AppError) as err:
        web_imagine(client, "a cat", prior_steps=1)
    answers.append(str(err.value))
    for text in answers:
        assert not any(leak in text for leak in ("Traceback", "Error:", "<_io", "/tmp", "0x7f", "\\ud800", "codec"))
        assert len(text) < 400
    assert any("not a readable image" in a for a in answers) and any("cut short" in a for a in answers)
    assert any("prior_num_inference_steps 1 is out of range: 2 to 100" in a for a in answers)
