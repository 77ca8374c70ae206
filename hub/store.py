"""SQLite job store (standard library, WAL) and the image files under the data directory.

Images are written (to a temporary name, then renamed) before the row says "done", so a job
reported done always has its files. Only hub/jobs.py changes a job's status; this module is its storage.

Each process that opens the store is an *owner*: it holds an exclusive lock on `owners/<id>.lock` for as
long as it lives (the kernel drops the lock when the process dies, `kill -9` included). Every job row names
its owner, so a process can tell a job another live server is running from one a dead process left behind
(`orphans()`), and never touches the first kind.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

from PIL import Image

from hub.errors import JobNotFound
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
# added after the first release: (column, declaration); opened stores gain them in place
_COLUMNS = (
    ("owner", "TEXT"),
    ("attempts", "INTEGER NOT NULL DEFAULT 0"),
    ("work", "TEXT"),
    ("reply", "TEXT"),
    ("lane", "TEXT NOT NULL DEFAULT 'fast'"),
    ("shared", "INTEGER NOT NULL DEFAULT 0"),
)
ACTIVE = ("queued", "running")


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
        self.owner_dir = self.data_dir / "owners"
        self.owner_dir.mkdir(exist_ok=True)
        for lock in self.owner_dir.glob("*.lock"):  # tidy the locks of processes that are gone
            self.alive(lock.stem)
        self.owner = secrets.token_hex(6)
        self._owner_file = open(self.owner_dir / f"{self.owner}.lock", "w")  # noqa: SIM115 (held for life)
        fcntl.flock(self._owner_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.data_dir / "lienzo.sqlite3", check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        have = {r["name"] for r in self._db.execute("PRAGMA table_info(jobs)")}
        for name, decl in _COLUMNS:
            if name not in have:
                self._db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {decl}")
        self._db.execute("CREATE INDEX IF NOT EXISTS jobs_owner_status ON jobs (owner, status)")

    def close(self) -> None:
        with self._lock:
            self._db.close()
        (self.owner_dir / f"{self.owner}.lock").unlink(missing_ok=True)
        self._owner_file.close()

    # --- owners -------------------------------------------------------------------------------
    def alive(self, owner: str | None) -> bool:
        """Whether the process that owns `owner`'s lock is still running (this one counts)."""
        if owner == getattr(self, "owner", None):
            return True
        if not owner or "/" in owner or owner.startswith("."):
            return False
        path = self.owner_dir / f"{owner}.lock"
        try:
            with open(path, "r+") as f:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except FileNotFoundError:
            return False
        except BlockingIOError:
            return True
        path.unlink(missing_ok=True)  # its process is gone: tidy its lock file
        return False

    def orphans(self) -> list[JobRecord]:
        """Queued or running jobs whose owner process is gone, oldest first."""
        rows = self._exec(
            "SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at, rowid"
        ).fetchall()
        return [self._record(r) for r in rows if not self.alive(r["owner"])]

    def adopt(self, job_id: str) -> None:
        self._exec("UPDATE jobs SET owner=? WHERE id=?", (self.owner, job_id))

    def _exec(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    # --- writing ------------------------------------------------------------------------------
    def create(
        self,
        *,
        kind: str,
        user: str,
        surface: str,
        model: str,
        request: dict,
        seeds: list[int] = (),
        width: int = 0,
        height: int = 0,
        parent_id: str | None = None,
        parent_index: int | None = None,
        job_id: str | None = None,
        work: str | None = None,
        reply: dict | None = None,
        lane: str = "fast",
        shared: bool = False,
    ) -> JobRecord:
        """A new queued row owned by this process. `work` is the job's WorkItem as JSON (hub.work.to_json), so
        the job can run again after a crash; `reply` says where a front end would deliver its result."""
        job_id = job_id or new_job_id()
        self._exec(
            "INSERT INTO jobs (id, user, surface, kind, model, request, seeds, status, created_at, width, height,"
            " parent_id, parent_index, owner, work, reply, lane, shared)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job_id,
                user,
                surface,
                kind,
                model,
                json.dumps(request, ensure_ascii=False, default=str),
                json.dumps(list(seeds)),
                _now(),
                width,
                height,
                parent_id,
                parent_index,
                self.owner,
                work,
                json.dumps(reply) if reply else None,
                lane,
                int(bool(shared)),
            ),
        )
        return self.get(job_id)

    def set_shared(self, job_id: str, shared: bool) -> None:
        self._exec("UPDATE jobs SET shared=? WHERE id=?", (int(bool(shared)), job_id))

    def mark_running(self, job_id: str) -> None:
        self._exec(
            "UPDATE jobs SET status='running', started_at=?, attempts=attempts+1 WHERE id=? AND status='queued'",
            (_now(), job_id),
        )

    def requeue(self, job_id: str, undo_attempt: bool = True) -> None:
        """A running job goes back to the queue. undo_attempt: the server stopped it on purpose (a shutdown), so
        this start does not count; after a crash it does (a job that crashes the server twice is not run again)."""
        self._exec(
            f"UPDATE jobs SET status='queued', started_at=NULL{', attempts=MAX(attempts-1, 0)' if undo_attempt else ''}"
            " WHERE id=? AND status='running'",
            (job_id,),
        )

    def finish(self, job_id: str, images: list[bytes], grid: bytes | None = None) -> JobRecord:
        """Write the PNG files (bytes as the worker encoded them, parameters inside), then mark the row done."""
        folder = self.image_dir / datetime.now(timezone.utc).strftime("%Y-%m-%d")
        folder.mkdir(parents=True, exist_ok=True)
        paths = [self._write(folder / f"{job_id}-{i + 1}.png", data) for i, data in enumerate(images)]
        grid_path = self._write(folder / f"{job_id}-grid.png", grid) if grid else None
        rel = [str(p.relative_to(self.data_dir)) for p in paths]
        self._exec(
            "UPDATE jobs SET status='done', finished_at=?, images=?, grid=?, error=NULL, work=NULL, reply=NULL"
            " WHERE id=?",
            (_now(), json.dumps(rel), str(grid_path.relative_to(self.data_dir)) if grid_path else None, job_id),
        )
        return self.get(job_id)

    def finish_text(self, job_id: str) -> JobRecord:
        self._exec("UPDATE jobs SET status='done', finished_at=?, work=NULL, reply=NULL WHERE id=?", (_now(), job_id))
        return self.get(job_id)

    def fail(self, job_id: str, error: str, status: str = "failed") -> None:
        self._exec(
            "UPDATE jobs SET status=?, finished_at=?, error=?, work=NULL, reply=NULL WHERE id=? AND status IN "
            "('queued', 'running')",
            (status, _now(), error[:2000], job_id),
        )

    def remove_partial_files(self, job_id: str) -> int:
        """Half-written images (`<job>-N.png.tmp`) a dead process left; returns how many went."""
        gone = 0
        for tmp in self.image_dir.glob(f"*/{job_id}-*.png.tmp"):
            tmp.unlink(missing_ok=True)
            gone += 1
        return gone

    @staticmethod
    def _write(path: Path, data: bytes) -> Path:
        tmp = path.with_suffix(".png.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return path

    # --- reading ------------------------------------------------------------------------------
    def get(self, job_id: str) -> JobRecord:
        row = self._exec("SELECT * FROM jobs WHERE id=?", (str(job_id),)).fetchone()
        if row is None:
            raise JobNotFound(job_id)
        return self._record(row)

    def list(
        self, user: str | None = None, limit: int = 50, offset: int = 0, status: str | None = None
    ) -> list[JobRecord]:
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
            from hub.errors import InvalidRequest

            raise InvalidRequest(f"job {job_id} has no finished images (status: {rec.status})")
        if not 0 <= index < len(rec.images):
            from hub.errors import InvalidRequest

            raise InvalidRequest(
                f"image index {index + 1} is out of range: job {job_id} has images 1-{len(rec.images)}"
            )
        with Image.open(rec.images[index]) as im:
            im.load()
            return im.copy()

    def _record(self, row: sqlite3.Row) -> JobRecord:
        ts = lambda v: datetime.fromisoformat(v) if v else None  # noqa: E731
        return JobRecord(
            id=row["id"],
            user=row["user"],
            surface=row["surface"],
            kind=row["kind"],
            model=row["model"],
            request=json.loads(row["request"]),
            seeds=tuple(json.loads(row["seeds"])),
            status=row["status"],
            created_at=ts(row["created_at"]),
            started_at=ts(row["started_at"]),
            finished_at=ts(row["finished_at"]),
            error=row["error"],
            images=tuple(self.data_dir / p for p in json.loads(row["images"])),
            grid=self.data_dir / row["grid"] if row["grid"] else None,
            parent_id=row["parent_id"],
            parent_index=row["parent_index"],
            width=row["width"],
            height=row["height"],
            attempts=row["attempts"],
            lane=row["lane"],
            shared=bool(row["shared"]),
        )

    def saved_work(self, job_id: str) -> tuple[str | None, dict | None]:
        """(the job's WorkItem JSON, its reply address): what running it again after a restart needs."""
        row = self._exec("SELECT work, reply FROM jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFound(job_id)
        return row["work"], json.loads(row["reply"]) if row["reply"] else None

    def with_reply(self, surface: str) -> list[JobRecord]:
        """Jobs still queued or running that a front end on `surface` must answer when they finish."""
        rows = self._exec(
            "SELECT * FROM jobs WHERE surface=? AND reply IS NOT NULL AND status IN ('queued', 'running')"
            " ORDER BY created_at, rowid",
            (surface,),
        ).fetchall()
        return [self._record(r) for r in rows]
