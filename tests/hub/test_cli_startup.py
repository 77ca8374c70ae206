"""Start-up failures of `lienzo serve`: one clear line and exit code 2, or the web hub kept up."""

from __future__ import annotations

import asyncio
import os

from tests.conftest import run, web_client, web_imagine


def test_serve_with_bot_keeps_the_web_hub_up_while_discord_cannot_be_reached(settings):
    """`lienzo serve --bot` with Discord unreachable: the web hub answers, and the bot keeps retrying."""
    import logging

    import discord

    from hub.cli import serve_with_bot
    from hub.service import Hub
    from tests.conftest import free_port

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
            client = await asyncio.to_thread(web_client, f"http://127.0.0.1:{port}/")
            return await asyncio.to_thread(web_imagine, client, "a web square")
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
