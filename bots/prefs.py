"""Per-user preferences (Midjourney's /settings and /prefer), in the bot's own SQLite file."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from pathlib import Path

from hub.errors import InvalidRequest

OPTION_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,19}$")
MAX_OPTIONS = 20


class Prefs:
    def __init__(self, data_dir: str | Path):
        self._db = sqlite3.connect(Path(data_dir) / "bot.sqlite3", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS prefs (user TEXT PRIMARY KEY, data TEXT NOT NULL)")
        self._lock = threading.Lock()

    def get(self, user: str) -> dict:
        with self._lock:
            row = self._db.execute("SELECT data FROM prefs WHERE user=?", (user,)).fetchone()
        return json.loads(row[0]) if row else {"options": {}}

    def update(self, user: str, **changes) -> dict:
        data = self.get(user)
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        with self._lock:
            self._db.execute(
                "INSERT INTO prefs (user, data) VALUES (?, ?) ON CONFLICT(user) DO UPDATE SET data=excluded.data",
                (user, json.dumps(data)),
            )
        return data

    def set_option(self, user: str, name: str, value: str) -> dict:
        name = name.strip().lstrip("-").lower()
        if not OPTION_NAME.match(name):
            raise InvalidRequest(f"option name {name!r} is not valid: 1-20 lowercase letters, digits, - or _")
        options = self.get(user).get("options", {})
        if name not in options and len(options) >= MAX_OPTIONS:
            raise InvalidRequest(
                f"you have {len(options)} custom options (the limit is {MAX_OPTIONS}); delete one first"
            )
        options[name] = value.strip()
        return self.update(user, options=options)

    def delete_option(self, user: str, name: str) -> bool:
        options = self.get(user).get("options", {})
        found = options.pop(name.strip().lstrip("-").lower(), None) is not None
        self.update(user, options=options)
        return found

    def close(self) -> None:
        self._db.close()


def apply(prompt: str, prefs: dict) -> str:
    """The prompt as the user's preferences make it: custom --options expanded, suffix and defaults added."""
    for name, value in prefs.get("options", {}).items():
        prompt = re.sub(rf"(?<!\S)--{re.escape(name)}(?!\S)", value, prompt)
    if prefs.get("suffix"):
        prompt = f"{prompt} {prefs['suffix']}"
    if prefs.get("aspect") and "--ar" not in prompt:
        prompt = f"{prompt} --ar {prefs['aspect']}"
    if prefs.get("stylize") is not None and not re.search(r"--(s|stylize)\b", prompt):
        prompt = f"{prompt} --s {prefs['stylize']}"
    if prefs.get("lane") == "relax" and "--fast" not in prompt and "--relax" not in prompt:
        prompt = f"{prompt} --relax"
    return prompt
