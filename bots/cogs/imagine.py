"""/imagine and /blend: images from a prompt, or from 2-5 images mixed by weight."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bots import jobs, media, render
from hub.errors import InvalidRequest
from hub.types import MixItem, MixRequest


class Imagine(commands.Cog):
    def __init__(self, bot):
        self.bot = bot

    @app_commands.command(name="imagine")
    @app_commands.describe(
        prompt="What to draw, with flags: --ar 16:9 --seed 7 --no text --chaos 20 --tile",
        image="An image to use as an image prompt (mixed in with --iw)",
        draft="A fast few-step draft (as --draft); its E1-E4 buttons redraw one image at full quality",
    )
    async def imagine(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, 1500],
        image: discord.Attachment | None = None,
        draft: bool = False,
    ):
        """Create four images from a prompt."""
        attachments = [(image, "the attached image")] if image is not None else []
        for attachment, what in attachments:
            media.check(attachment, self.bot.hub.settings, what)
        await jobs.run_imagine(interaction, prompt, attachments, draft=draft)

    @app_commands.command(name="blend")
    @app_commands.describe(
        image1="First image",
        image2="Second image",
        image3="Third image (optional)",
        image4="Fourth image (optional)",
        image5="Fifth image (optional)",
        weights="Weights in order, e.g. 2,1 (default: equal)",
    )
    async def blend(
        self,
        interaction: discord.Interaction,
        image1: discord.Attachment,
        image2: discord.Attachment,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        image5: discord.Attachment | None = None,
        weights: str | None = None,
    ):
        """Blend 2-5 images into new ones (Kandinsky's image-embedding mix)."""
        attachments = [a for a in (image1, image2, image3, image4, image5) if a is not None]
        try:
            parsed = [float(w) for w in weights.split(",")] if weights else [1.0] * len(attachments)
        except ValueError:
            raise InvalidRequest(f"weights {render.shown(weights[:40])} are not numbers; write them like 2,1") from None
        if len(parsed) != len(attachments):
            raise InvalidRequest(f"{len(parsed)} weights for {len(attachments)} images; give one per image")
        named = [(a, f"image {i + 1}") for i, a in enumerate(attachments)]
        for attachment, what in named:
            media.check(attachment, self.bot.hub.settings, what)
        label = render.clip(f"/blend of {len(named)} images ({', '.join(f'{w:g}' for w in parsed)})", 300)

        async def submit():  # after the interaction is deferred: downloads can take seconds
            images = await media.download_all(self.bot.cdn, named, self.bot.hub.settings)
            items = tuple(MixItem(image=im, weight=w) for im, w in zip(images, parsed))
            return await self.bot.hub.mix(MixRequest(items=items, preview=True, origin=jobs.origin(interaction)))

        await jobs.start(interaction, submit(), label)
