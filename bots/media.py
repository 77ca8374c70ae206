"""Attachments: checked from Discord's metadata, then downloaded with a byte cap and one deadline for all.

Called only after the interaction was deferred (Discord wants an answer within 3 s, and a slow CDN must not
cost that). The bytes go to the Hub as they are: it checks the header's pixel count before decoding, and
decodes off the event loop.
"""

from __future__ import annotations

import asyncio

import aiohttp
import discord

from hub.errors import ImageError

IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp")


def check(attachment: discord.Attachment, settings, what: str) -> None:
    """What Discord says about the file (type, bytes, pixels), before anything is downloaded: microseconds."""
    if (attachment.content_type or "").split(";")[0] not in IMAGE_TYPES:
        raise ImageError(f"{what} is {attachment.content_type or 'not an image'}; attach a PNG, JPEG, WebP, GIF or BMP")
    if attachment.size > settings.max_image_bytes:
        raise ImageError(
            f"{what} is {attachment.size / 2**20:.1f} MiB; the limit is {settings.max_image_bytes / 2**20:.0f} MiB"
        )
    if attachment.width and attachment.height and attachment.width * attachment.height > settings.max_image_pixels:
        raise ImageError(
            f"{what} is {attachment.width}x{attachment.height} pixels; the limit is "
            f"{settings.max_image_pixels:,} pixels"
        )


async def download_all(
    session: aiohttp.ClientSession, attachments: list[tuple[discord.Attachment, str]], settings
) -> list[bytes]:
    """Every attachment's bytes, fetched side by side, all within settings.image_fetch_seconds together."""
    deadline = settings.image_fetch_seconds
    try:
        async with asyncio.timeout(deadline):
            return list(
                await asyncio.gather(*(_read(session, a, what, settings.max_image_bytes) for a, what in attachments))
            )
    except TimeoutError:
        raise ImageError(
            f"the attached images took longer than {deadline:g} s to download from Discord; "
            "try again, or attach smaller images"
        ) from None


async def _read(session: aiohttp.ClientSession, attachment: discord.Attachment, what: str, limit: int) -> bytes:
    try:
        async with session.get(attachment.url) as resp:
            if resp.status != 200:
                raise ImageError(f"{what} could not be downloaded from Discord (HTTP {resp.status}); attach it again")
            data = bytearray()
            async for chunk in resp.content.iter_chunked(1 << 16):
                data += chunk
                if len(data) > limit:  # Discord's reported size was wrong: stop reading at the limit
                    raise ImageError(f"{what} is larger than the limit of {limit / 2**20:.0f} MiB")
            return bytes(data)
    except aiohttp.ClientError:
        raise ImageError(f"{what} could not be downloaded from Discord; attach it again") from None
