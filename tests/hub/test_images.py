"""Image URLs (hub/images.py) against hosts that lie: DNS that points inside, a host that trickles."""

from __future__ import annotations

import asyncio
import http.server
import threading

import pytest

from hub.errors import ImageError, LienzoError
from hub.types import ImagineRequest, Origin
from tests.conftest import run


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
