"""SQLite job store (standard library, WAL) and the image files under the data directory.

Images are written (to a temporary name, then renamed) before the row says "done", so a job
reported done always has its files. Rows left queued/running by a process that died are marked
failed on start-up by `recover()`.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

from PIL import Image

from hub.errors import JobNotFound
from hub.pnginfo import png_bytes
from hub.types import JobRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    surface TEXT NOT NULL,
    kind TEXT NOT NULL,
    model TEXT NOT NULL,
    request TEXT NOT NULL,
    seeds TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    error TEXT,
    images TEXT NOT NULL DEFAULT '[]',
    grid TEXT,
    parent_id TEXT,
    parent_index INTEGER,
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_user_created ON jobs (user, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def new_job_id() -> str:
    """10 lowercase hex characters: short enough for Discord custom_ids, 2^40 values."""
    return secrets.token_hex(5)


class Store:
    def __init__(self, data_dir: str | Path):
        self.data_dir = Path(data_dir)
        self.image_dir = self.data_dir / "images"
        self.image_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.data_dir / "lienzo.sqlite3", check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    # --- writing ------------------------------------------------------------------------------
    def create(self, *, kind: str, user: str, surface: str, model: str, request: dict, seeds: list[int] = (),
               width: int = 0, height: int = 0, parent_id: str | None = None, parent_index: int | None = None,
               job_id: str | None = None) -> JobRecord:
        job_id = job_id or new_job_id()
        self._exec(
            "INSERT INTO jobs (id, user, surface, kind, model, request, seeds, status, created_at, width, height,"
            " parent_id, parent_index) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
            (job_id, user, surface, kind, model, json.dumps(request, ensure_ascii=False, default=str),
             json.dumps(list(seeds)), _now(), width, height, parent_id, parent_index))
        return self.get(job_id)

    def mark_running(self, job_id: str) -> None:
        self._exec("UPDATE jobs SET status='running', started_at=? WHERE id=? AND status='queued'", (_now(), job_id))

    def finish(self, job_id: str, images: list[Image.Image], parameters: list[str],
               grid: Image.Image | None = None) -> JobRecord:
        """Write the PNGs (with their parameters), then mark the row done."""
        folder = self.image_dir / datetime.now(timezone.utc).strftime("%Y-%m-%d")
        folder.mkdir(parents=True, exist_ok=True)
        paths = [self._write(folder / f"{job_id}-{i + 1}.png", im, p) for i, (im, p) in enumerate(zip(images, parameters))]
        grid_path = self._write(folder / f"{job_id}-grid.png", grid, parameters[0] if parameters else None) if grid else None
        rel = [str(p.relative_to(self.data_dir)) for p in paths]
        self._exec("UPDATE jobs SET status='done', finished_at=?, images=?, grid=?, error=NULL WHERE id=?",
                   (_now(), json.dumps(rel), str(grid_path.relative_to(self.data_dir)) if grid_path else None, job_id))
        return self.get(job_id)

    def finish_text(self, job_id: str) -> JobRecord:
        self._exec("UPDATE jobs SET status='done', finished_at=? WHERE id=?", (_now(), job_id))
        return self.get(job_id)

    def fail(self, job_id: str, error: str, status: str = "failed") -> None:
        self._exec("UPDATE jobs SET status=?, finished_at=?, error=? WHERE id=? AND status IN ('queued', 'running')",
                   (status, _now(), error[:2000], job_id))

    def set_seeds(self, job_id: str, seeds: list[int]) -> None:
        self._exec("UPDATE jobs SET seeds=? WHERE id=?", (json.dumps(list(seeds)), job_id))

    def recover(self) -> int:
        """Jobs a previous process left queued or running will never finish: say so."""
        cur = self._exec("UPDATE jobs SET status='failed', finished_at=?, error=? WHERE status IN ('queued', 'running')",
                         (_now(), "interrupted: the server restarted before this job finished; run it again"))
        return cur.rowcount

    @staticmethod
    def _write(path: Path, image: Image.Image, parameters: str | None) -> Path:
        tmp = path.with_suffix(".png.tmp")
        tmp.write_bytes(png_bytes(image, parameters))
        os.replace(tmp, path)
        return path

    # --- reading ------------------------------------------------------------------------------
    def get(self, job_id: str) -> JobRecord:
        row = self._exec("SELECT * FROM jobs WHERE id=?", (str(job_id),)).fetchone()
        if row is None:
            raise JobNotFound(job_id)
        return self._record(row)

    def list(self, user: str | None = None, limit: int = 50, offset: int = 0,
             status: str | None = None) -> list[JobRecord]:
        where, args = [], []
        if user is not None:
            where.append("user=?")
            args.append(user)
        if status is not None:
            where.append("status=?")
            args.append(status)
        sql = "SELECT * FROM jobs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?"
        return [self._record(r) for r in self._exec(sql, (*args, max(1, min(limit, 500)), max(0, offset))).fetchall()]

    def image(self, job_id: str, index: int) -> Image.Image:
        rec = self.get(job_id)
        if rec.status != "done" or not rec.images:
            raise JobNotFound(f"{job_id} (it has no finished images: status {rec.status})")
        if not 0 <= index < len(rec.images):
            from hub.errors import InvalidRequest

            raise InvalidRequest(f"image index {index + 1} is out of range: job {job_id} has images 1-{len(rec.images)}")
        with Image.open(rec.images[index]) as im:
            im.load()
            return im.copy()

    def _record(self, row: sqlite3.Row) -> JobRecord:
        ts = lambda v: datetime.fromisoformat(v) if v else None  # noqa: E731
        return JobRecord(
            id=row["id"], user=row["user"], surface=row["surface"], kind=row["kind"], model=row["model"],
            request=json.loads(row["request"]), seeds=tuple(json.loads(row["seeds"])), status=row["status"],
            created_at=ts(row["created_at"]), started_at=ts(row["started_at"]), finished_at=ts(row["finished_at"]),
            error=row["error"], images=tuple(self.data_dir / p for p in json.loads(row["images"])),
            grid=self.data_dir / row["grid"] if row["grid"] else None, parent_id=row["parent_id"],
            parent_index=row["parent_index"], width=row["width"], height=row["height"])
