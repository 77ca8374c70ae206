"""Nothing accepted is lost in a crash: a real `lienzo serve` is killed with SIGKILL mid-job and started again on
the same data dir. The test follows the server's own log lines ("job <id> queued/running/done")."""

import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from gradio_client import Client

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"hub\.jobs: job (\w+) (queued|running|done|failed|cancelled)")


class Server:
    """`lienzo -v serve` in a subprocess, its job log lines on a queue."""

    def __init__(self, data: Path, port: int):
        env = {
            **os.environ,
            "LIENZO_DATA_DIR": str(data),
            "HF_HUB_OFFLINE": "1",
            "LIENZO_DEVICE": "cpu",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "LIENZO_PREVIEW_EVERY": "0",
            "LIENZO_THREADS": "1",
            "LIENZO_MAX_BATCH": "1",
        }  # one job at a time: there is always a next job to catch mid-run
        self.env = env
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "-v", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stderr=subprocess.STDOUT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue = queue.Queue()
        self.url = f"http://127.0.0.1:{port}/"
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            if m := LINE.search(line):
                self.lines.put((m.group(1), m.group(2)))
            elif "Running on" in line or "Traceback" in line:
                self.lines.put(("server", line.strip()))
        self.lines.put(("server", "exited"))

    def wait(self, predicate, timeout=240):
        """The log events up to the first one `predicate` accepts (raises if the server exits first)."""
        seen = []
        while True:
            event = self.lines.get(timeout=timeout)
            seen.append(event)
            assert event != ("server", "exited"), seen
            if predicate(event):
                return seen


@pytest.fixture
def servers():
    """Every server a test starts is killed when it ends, whatever happened."""
    started: list[Server] = []
    yield lambda data: started.append(Server(data, free_port())) or started[-1]
    for s in started:
        s.proc.kill()
        s.proc.wait(timeout=60)


@pytest.mark.timeout(360)  # two server start-ups on 2 shared cores
def test_kill_9_mid_job_then_restart_every_accepted_job_ends_done(tmp_path, placeholder_models, servers):
    (tmp_path / "models").symlink_to(placeholder_models)
    server = servers(tmp_path)
    server.wait(lambda e: "Running on" in e[1])
    clients = [Client(server.url, verbose=False) for _ in range(3)]  # three browser sessions: three users
    args = ("a red circle above a blue square", "", "mini", "1:1", 80, 5, 4.0, 0, True, 1, "default")
    for c in clients:  # the answers are not awaited: the server dies before most are ready
        for _ in range(3):
            c.submit(*args, api_name="/imagine")
    queued: set[str] = set()
    server.wait(lambda e: e[1] == "queued" and queued.add(e[0]) is None and len(queued) == 9)

    # `lienzo imagine` on the same data dir while the server works: its own job, and the server's left alone
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "imagine",
            "a blue square --seed 3",
            "--num-images",
            "1",
            "--steps",
            "4",
            "--out",
            str(tmp_path / "cli"),
        ],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert cli.returncode == 0, cli.stderr
    with sqlite3.connect(tmp_path / "lienzo.sqlite3") as db:
        during = dict(db.execute("SELECT id, status FROM jobs WHERE surface = 'web'").fetchall())
        ((cli_job, cli_status),) = db.execute("SELECT id, status FROM jobs WHERE surface = 'cli'").fetchall()
    assert set(during) == queued and set(during.values()) <= {"queued", "running", "done"}, during
    assert cli_status == "done"

    while True:  # what the server logged meanwhile is old news: kill it just after a job starts
        try:
            server.lines.get_nowait()
        except queue.Empty:
            break
    running = server.wait(lambda e: e[1] == "running")[-1][0]
    server.proc.send_signal(signal.SIGKILL)  # mid-job: rows queued and running, maybe a half-written file
    server.proc.wait(timeout=60)  # (the clients' waits end with the connection; they are not used again)

    with sqlite3.connect(tmp_path / "lienzo.sqlite3") as db:
        before = dict(db.execute("SELECT id, status FROM jobs WHERE surface = 'web'").fetchall())
    assert set(before) == queued and before[running] == "running"  # every accepted job has its row
    pending = {job_id for job_id, status in before.items() if status != "done"}

    again = servers(tmp_path)
    finished: set[str] = set()
    again.wait(lambda e: e[1] == "done" and finished.add(e[0]) is None and finished == pending)
    again.proc.terminate()
    again.proc.wait(timeout=60)

    with sqlite3.connect(tmp_path / "lienzo.sqlite3") as db:
        rows = db.execute("SELECT id, status, images, grid, attempts FROM jobs WHERE surface = 'web'").fetchall()
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {r[0] for r in rows} == queued and all(r[1] == "done" for r in rows)
    assert dict((r[0], r[4]) for r in rows)[running] == 2  # run again once after the crash
    images = [Path(tmp_path, p) for r in rows for p in re.findall(r'"([^"]+)"', r[2])]
    assert len(images) == 9 and all(p.stat().st_size > 0 for p in images)
    assert list(tmp_path.rglob("*.tmp")) == []
    on_disk = {p.name for p in (tmp_path / "images").rglob("*.png") if not p.name.startswith(cli_job)}
    assert on_disk == {p.name for p in images}  # no orphan file (one image a job: no grid)
