"""What users see: message text, progress, files that fit the upload limit, the button rows."""

from __future__ import annotations

import asyncio
import io

import discord
from PIL import Image

from bots import limits


def clip(text: str, limit: int = limits.CONTENT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(text: str) -> str:
    """User text as it may appear in a message: markdown and mentions escaped (@everyone, <@&role> stay text
    even where allowed_mentions would let them ping)."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def headline(prompt: str, user_id: int, tail: str) -> str:
    return clip(f"**{shown(prompt)}** - <@{user_id}> {tail}")


def progress_text(prompt: str, user_id: int, stage: str, step: int, total: int, position: int | None) -> str:
    if position:
        return headline(prompt, user_id, f"(waiting to start: position {position} in the queue)")
    percent = int(100 * step / total) if total else 0
    return headline(prompt, user_id, f"({percent}%) ({stage})")


class File(discord.File):
    """discord.File naming its upload slot as Discord's API schema types attachment ids: a string (the
    snowflake type). discord.py writes the bare integer index, which the published schema does not allow."""

    def to_dict(self, index: int) -> dict:
        return {**super().to_dict(index), "id": str(index)}


async def encoded(image: Image.Image | str, name: str, limit: int) -> discord.File:
    """image_file off the event loop: encoding a large image takes long enough to delay other users' answers."""
    return await asyncio.to_thread(image_file, image, name, limit)


def image_file(image: Image.Image | str, name: str, limit: int) -> discord.File:
    """PNG when it fits, else WebP then JPEG at falling quality, then smaller, so the upload never exceeds `limit`."""
    if not isinstance(image, Image.Image):
        with Image.open(image) as im:
            image = im.convert("RGB")
    attempts = (
        [("PNG", {})] + [("WEBP", {"quality": q}) for q in (90, 75)] + [("JPEG", {"quality": q}) for q in (85, 65)]
    )
    candidate = image
    while True:
        for fmt, kwargs in attempts:
            buf = io.BytesIO()
            candidate.save(buf, format=fmt, **kwargs)
            if buf.tell() <= limit:
                ext = {"PNG": "png", "WEBP": "webp", "JPEG": "jpg"}[fmt]
                buf.seek(0)
                return File(buf, filename=f"{name}.{ext}")
        if min(candidate.size) <= 64:
            raise ValueError(f"cannot fit an image under {limit} bytes")
        candidate = candidate.resize((candidate.width // 2, candidate.height // 2), Image.LANCZOS)
