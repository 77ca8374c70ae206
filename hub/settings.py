"""One frozen Settings object, read from LIENZO_* environment variables by the composition root.

Nothing here runs at import time: call `Settings.from_env()` where the program starts
(the CLI, the Space's app.py, a test) and pass the object down.
"""

from __future__ import annotations

import re

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from hub.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda", "mps")
PLACEMENTS = ("thread", "zerogpu", "ray")
DTYPES = ("auto", "float32", "float16", "bfloat16")
OFFLOAD = ("auto", "none", "model", "sequential")
SHARES = ("private", "public")
LANES = ("auto", "off")  # hub/lanes.py


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "lienzo"


@dataclass(frozen=True)
class Settings:
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    dtype: str = "auto"  # auto: float16 on cuda, float32 on cpu
    image_model: str | None = None  # None: kandinsky-2.2 on a GPU with the Hub reachable, else mini
    text_model: str | None = None  # None: the small instruct LLM on a GPU, else mini-text when bundled
    data_dir: Path = field(default_factory=_default_data_dir)
    max_queue: int = 64  # jobs waiting, all users together
    user_max_jobs: int = 4  # queued + running, per user
    max_batch: int = 4  # compatible requests served by one pipeline call
    preview_every: int = 5  # a preview image every N denoising steps (0: none)
    offload: str = "auto"  # auto: model offload on GPUs under 12 GiB
    offline: bool | None = None  # None: HF_HUB_OFFLINE, else probe the Hub once
    threads: int | None = None  # torch CPU threads; None leaves torch's default
    lanes: str = "auto"  # auto: a CPU batch's UNet and decoder calls split across the threads (hub/lanes.py)
    allowed_image_hosts: tuple[str, ...] = ("cdn.discordapp.com", "media.discordapp.net")
    max_image_bytes: int = 20 * 1024 * 1024
    max_image_pixels: int = 4096 * 4096
    image_fetch_seconds: float = 15.0  # an image URL's whole download, connection included
    # where people reach the web hub (e.g. https://lienzo.example.org or a Space's URL): the bot links its Vary
    # (Region) to the web editor there; None: no link
    public_url: str | None = None
    # TESTS ONLY: origins (scheme://host:port) that image URLs may use although they are plain http, on another port
    # or on a loopback/private address. Production leaves it empty: https on 443, public addresses only.
    image_test_origins: tuple[str, ...] = ()
    share: str = "private"  # new jobs are private (owner only) or public (anyone with the job id); the Space: public
    # signs the web hub's browser ids; None: a random key kept in <data_dir>/secret.key (0600). Never logged.
    secret_key: str | None = field(default=None, repr=False)
    blocked_words: tuple[str, ...] = ()  # prompts with these words are refused outside NSFW channels (bot)
    mini_weights: Path | None = None  # a `lienzo train-mini --out` folder to run as `mini`; None: the bundled one
    # where batches run (hub/placement.py): thread (this process) | zerogpu (spaces.GPU calls) | ray (Ray Serve)
    placement: str = "thread"
    gpu_duration: int = 120  # zerogpu: the most seconds one GPU call may declare
    preload: tuple[str, ...] = ()  # zerogpu/ray: models loaded at start-up (default: the default image model)
    ray_address: str | None = None  # ray: "auto" or HOST:PORT of a running cluster; None starts a local one
    ray_replicas: int = 1  # ray: replicas of each model's deployment (the most when autoscaling)
    ray_min_replicas: int | None = None  # ray: set to autoscale between this and ray_replicas
    ray_gpus: float = 0.0  # ray: GPUs per replica (1 on GPU boxes; 0 runs on CPUs)
    ray_cpus: float = 1.0  # ray: CPUs per replica

    def __post_init__(self):
        if not isinstance(self.data_dir, Path):  # accept a str from code, as from the environment
            object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())
        if self.mini_weights is not None and not isinstance(self.mini_weights, Path):
            object.__setattr__(self, "mini_weights", Path(self.mini_weights).expanduser())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Read LIENZO_<FIELD> variables (e.g. LIENZO_DEVICE=cuda, LIENZO_MAX_QUEUE=32)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            key = f"LIENZO_{f.name.upper()}"
            raw = env.get(key)
            if raw is None or raw.strip() == "":
                continue
            values[f.name] = _parse(key, f.name, raw.strip())
        if values.get("offline") is None and env.get("HF_HUB_OFFLINE", "").strip().lower() in (
            "1",
            "true",
            "yes",
            "on",
        ):
            values["offline"] = True
        settings = cls(**{**values, **overrides})
        settings.validate()
        return settings

    def with_(self, **changes) -> Settings:
        out = replace(self, **changes)
        out.validate()
        return out

    def validate(self) -> None:
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise ConfigError(f"LIENZO_DEVICE {self.device!r} is not valid: use one of {', '.join(DEVICES)} or cuda:N")
        if self.dtype not in DTYPES:
            raise ConfigError(f"LIENZO_DTYPE {self.dtype!r} is not valid: use one of {', '.join(DTYPES)}")
        if self.offload not in OFFLOAD:
            raise ConfigError(f"LIENZO_OFFLOAD {self.offload!r} is not valid: use one of {', '.join(OFFLOAD)}")
        for name, low in (
            ("max_queue", 1),
            ("user_max_jobs", 1),
            ("max_batch", 1),
            ("preview_every", 0),
            ("max_image_bytes", 1024),
            ("max_image_pixels", 64 * 64),
        ):
            if getattr(self, name) < low:
                raise ConfigError(f"LIENZO_{name.upper()} must be at least {low}, got {getattr(self, name)}")
        if self.share not in SHARES:
            raise ConfigError(f"LIENZO_SHARE {self.share!r} is not valid: use one of {', '.join(SHARES)}")
        if not 0.5 <= self.image_fetch_seconds <= 300:
            raise ConfigError(f"LIENZO_IMAGE_FETCH_SECONDS must be between 0.5 and 300, got {self.image_fetch_seconds}")
        if self.public_url is not None and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", self.public_url):
            raise ConfigError(
                f"LIENZO_PUBLIC_URL {self.public_url!r} is not valid: give the web hub's address, e.g. "
                "https://lienzo.example.org"
            )
        if self.secret_key is not None and len(self.secret_key) < 16:
            raise ConfigError("LIENZO_SECRET_KEY must be at least 16 characters long")
        if self.placement not in PLACEMENTS:
            raise ConfigError(f"LIENZO_PLACEMENT {self.placement!r} is not valid: use one of {', '.join(PLACEMENTS)}")
        for name, low in (("gpu_duration", 5), ("ray_replicas", 1)):
            if getattr(self, name) < low:
                raise ConfigError(f"LIENZO_{name.upper()} must be at least {low}, got {getattr(self, name)}")
        if self.ray_min_replicas is not None and not 0 <= self.ray_min_replicas <= self.ray_replicas:
            raise ConfigError(
                f"LIENZO_RAY_MIN_REPLICAS must be between 0 and LIENZO_RAY_REPLICAS "
                f"({self.ray_replicas}), got {self.ray_min_replicas}"
            )
        if self.ray_gpus < 0 or self.ray_cpus < 0:
            raise ConfigError("LIENZO_RAY_GPUS and LIENZO_RAY_CPUS cannot be negative")
        if self.lanes not in LANES:
            raise ConfigError(f"LIENZO_LANES {self.lanes!r} is not valid: use one of {', '.join(LANES)}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"LIENZO_THREADS must be at least 1, got {self.threads}")
        if self.mini_weights is not None and not all((self.mini_weights / d).is_dir() for d in ("prior", "decoder")):
            raise ConfigError(
                f"LIENZO_MINI_WEIGHTS (or eval-mini --weights) {str(self.mini_weights)!r} is not a mini "
                "model folder: it needs prior/ and decoder/, as `lienzo train-mini --out` writes them"
            )


_INTS = {
    "max_queue",
    "user_max_jobs",
    "max_batch",
    "preview_every",
    "threads",
    "max_image_bytes",
    "max_image_pixels",
    "gpu_duration",
    "ray_replicas",
    "ray_min_replicas",
}
_FLOATS = {"ray_gpus", "ray_cpus", "image_fetch_seconds"}


def _parse(key: str, name: str, raw: str) -> object:
    if name in _INTS:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{key} must be a whole number, got {raw!r}") from None
    if name in _FLOATS:
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{key} must be a number, got {raw!r}") from None
    if name == "preload":
        return tuple(m.strip() for m in raw.split(",") if m.strip())
    if name == "offline":
        low = raw.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key} must be 1/0 (or true/false), got {raw!r}")
    if name in ("data_dir", "mini_weights"):
        return Path(raw).expanduser()
    if name == "blocked_words":
        return tuple(w.strip().lower() for w in raw.split(",") if w.strip())
    if name == "image_test_origins":
        return tuple(o.strip().lower().rstrip("/") for o in raw.split(",") if o.strip())
    if name == "allowed_image_hosts":
        return tuple(h.strip().lower() for h in raw.split(",") if h.strip())
    return raw
