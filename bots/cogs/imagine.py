"""/imagine and /blend: images from a prompt, or from 2-5 images mixed by weight."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bots import jobs, render
from hub.errors import LienzoError
from hub.images import load_image
from hub.types import MixItem, MixRequest

IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp")


async def read_attachment(attachment: discord.Attachment, settings, what: str):
    """Check type, size and pixel count from Discord's metadata before downloading or decoding anything."""
    if (attachment.content_type or "").split(";")[0] not in IMAGE_TYPES:
        raise LienzoError(f"{what} is {attachment.content_type or 'not an image'}; attach a PNG, JPEG, WebP, GIF or BMP")
    if attachment.size > settings.max_image_bytes:
        raise LienzoError(f"{what} is {attachment.size / 2**20:.1f} MiB; the limit is "
                          f"{settings.max_image_bytes / 2**20:.0f} MiB")
    if attachment.width and attachment.height and attachment.width * attachment.height > settings.max_image_pixels:
        raise LienzoError(f"{what} is {attachment.width}x{attachment.height} pixels; the limit is "
                          f"{settings.max_image_pixels:,} pixels")
    return load_image(await attachment.read(), settings, what=what)


class Imagine(commands.Cog):
    def __init__(self, bot):
        self.bot = bot

    @app_commands.command(name="imagine")
    @app_commands.describe(prompt="What to draw, with flags: --ar 16:9 --seed 7 --no text --chaos 20 --tile",
                           image="An image to use as an image prompt (mixed in with --iw)")
    async def imagine(self, interaction: discord.Interaction, prompt: app_commands.Range[str, 1, 1500],
                      image: discord.Attachment | None = None):
        """Create four images from a prompt."""
        images = []
        if image is not None:
            try:
                images.append(await read_attachment(image, self.bot.hub.settings, "the attached image"))
            except LienzoError as exc:
                await jobs.fail(interaction, str(exc))
                return
        await jobs.run_imagine(interaction, prompt, images)

    @app_commands.command(name="blend")
    @app_commands.describe(image1="First image", image2="Second image", image3="Third image (optional)",
                           image4="Fourth image (optional)", image5="Fifth image (optional)",
                           weights="Weights in order, e.g. 2,1 (default: equal)")
    async def blend(self, interaction: discord.Interaction, image1: discord.Attachment, image2: discord.Attachment,
                    image3: discord.Attachment | None = None, image4: discord.Attachment | None = None,
                    image5: discord.Attachment | None = None, weights: str | None = None):
        """Blend 2-5 images into new ones (Kandinsky's image-embedding mix)."""
        attachments = [a for a in (image1, image2, image3, image4, image5) if a is not None]
        try:
            parsed = [float(w) for w in weights.split(",")] if weights else [1.0] * len(attachments)
        except ValueError:
            await jobs.fail(interaction, f"weights {weights!r} are not numbers; write them like 2,1")
            return
        if len(parsed) != len(attachments):
            await jobs.fail(interaction, f"{len(parsed)} weights for {len(attachments)} images; give one per image")
            return
        try:
            images = [await read_attachment(a, self.bot.hub.settings, f"image {i + 1}") for i, a in enumerate(attachments)]
        except LienzoError as exc:
            await jobs.fail(interaction, str(exc))
            return
        items = tuple(MixItem(image=im, weight=w) for im, w in zip(images, parsed))
        req = MixRequest(items=items, preview=True, origin=jobs.origin(interaction))
        label = render.clip(f"/blend of {len(images)} images ({', '.join(f'{w:g}' for w in parsed)})", 300)
        await jobs.start(interaction, self.bot.hub.mix(req), label)
