"""Typed errors. Each message is written for the person who caused it: what was wrong, what is allowed.

Front ends show `str(error)` as it is (gr.Error, an ephemeral Discord reply, a CLI line).
"""

from __future__ import annotations

import unicodedata

from hub.messages import in_language  # noqa: F401  (front ends translate the core's messages through hub.errors)

ECHO_LIMIT = 60


def shown(value: object, limit: int = ECHO_LIMIT) -> str:
    """A value the user typed, quoted for a message: cut to `limit` characters, with no control characters,
    lone surrogates or other invisible code points, and never a Python repr."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit * 4:
        text = text[: limit * 4]
    clean = "".join("\ufffd" if unicodedata.category(ch) in ("Cs", "Cc", "Cf", "Co", "Cn") else ch for ch in text)
    if len(clean) > limit:
        clean = clean[: limit - 1] + "…"
    return f"“{clean}”"


class LienzoError(Exception):
    """Base class of every error the core raises on purpose."""

    code = "error"


class InvalidRequest(LienzoError, ValueError):
    """The request itself is wrong (a value out of range, a missing field)."""

    code = "invalid_request"


class PromptError(InvalidRequest):
    """A Midjourney-style flag in a prompt has a bad value or is unknown."""

    code = "bad_prompt"

    def __init__(self, flag: str, value: str | None, allowed: str):
        self.flag, self.value, self.allowed = flag, value, allowed
        if value is None:
            super().__init__(f"{flag}: {allowed}")
        else:
            super().__init__(f"{flag} {shown(value)} is not valid: {allowed}")


class ImageError(InvalidRequest):
    """An input image is unreadable, too large, of a disallowed type or from a disallowed host."""

    code = "bad_image"


class ModelUnavailable(LienzoError):
    """A model cannot run here now (no weights offline, needs a GPU, unknown name)."""

    code = "model_unavailable"


class CapabilityError(InvalidRequest):
    """The chosen model cannot do what was asked (e.g. mix on an SD model)."""

    code = "not_supported"


class QueueFull(LienzoError):
    """The global queue is at its maximum size."""

    code = "queue_full"


class UserLimit(LienzoError):
    """One user already has as many jobs queued as allowed."""

    code = "user_limit"

    def __init__(self, user: str, queued: int, limit: int):
        self.user, self.queued, self.limit = user, queued, limit
        super().__init__(
            f"you have {queued} job{'s' if queued != 1 else ''} queued or running (the limit is {limit}); "
            "wait for one to finish or cancel one"
        )


class JobNotFound(LienzoError, LookupError):
    code = "not_found"

    def __init__(self, job_id: str):
        self.job_id = job_id
        super().__init__(
            f"no job with id {shown(job_id, 24)} that you can open (check the id; jobs of other people "
            "can be opened only when they share them)"
        )


class Forbidden(LienzoError):
    code = "forbidden"


class Cancelled(LienzoError):
    """The job was cancelled by its owner."""

    code = "cancelled"


class JobFailed(LienzoError):
    """The engine raised while running the job; the message says what went wrong."""

    code = "failed"


class ConfigError(LienzoError, ValueError):
    """A LIENZO_* environment variable has a bad value."""

    code = "config"


class StorageError(LienzoError):
    """The job store could not be written (a full disk, a locked database): nothing was queued."""

    code = "storage"


def from_code(code: str, message: str) -> LienzoError:
    """The typed error for a code that crossed the device boundary as plain data (hub.work.Failure)."""
    simple = (
        InvalidRequest,
        ImageError,
        ModelUnavailable,
        CapabilityError,
        QueueFull,
        Forbidden,
        Cancelled,
        JobFailed,
        ConfigError,
        StorageError,
    )
    for cls in simple:
        if cls.code == code:
            return cls(message)
    if code == PromptError.code:
        return InvalidRequest(message)
    return JobFailed(message)
