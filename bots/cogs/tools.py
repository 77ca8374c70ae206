"""/describe, /shorten and /chat: the core's CLIP and the tutor, on Discord."""

from __future__ import annotations

import re

import discord
from discord import app_commands
from discord.ext import commands

from bots import jobs, media, render
from bots.errors import Button
from hub.errors import LienzoError
from hub.types import DescribeRequest, ShortenRequest, TutorRequest


class ImagineThis(Button, template=r"lz:d:(?P<i>[1-4])"):
    """Under /describe: imagine candidate i, read back from the message itself (nothing kept in memory)."""

    def __init__(self, i: int):
        self.i = i
        super().__init__(discord.ui.Button(label=str(i), emoji="🎨", custom_id=f"lz:d:{i}"))

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(int(match["i"]))

    async def run(self, interaction: discord.Interaction):
        lines = re.findall(r"^(\d)\. (.+)$", interaction.message.content if interaction.message else "", re.M)
        prompt = dict(lines).get(str(self.i))
        if not prompt:
            raise LienzoError("this message no longer lists that prompt")
        await jobs.run_imagine(interaction, prompt)


class Tools(commands.Cog):
    def __init__(self, bot):
        self.bot = bot

    @app_commands.command(name="describe")
    @app_commands.describe(image="The image to describe")
    async def describe(self, interaction: discord.Interaction, image: discord.Attachment):
        """Four prompts that could have made this image."""
        media.check(image, self.bot.hub.settings, "the image")
        await interaction.response.defer(thinking=True)
        [picture] = await media.download_all(self.bot.cdn, [(image, "the image")], self.bot.hub.settings)
        result = await self.bot.hub.describe(DescribeRequest(picture, origin=jobs.origin(interaction)))
        text = "\n".join(f"{i}. {p}" for i, p in enumerate(result.prompts, 1))
        view = discord.ui.View(timeout=None)
        for i in range(1, len(result.prompts) + 1):
            view.add_item(ImagineThis(i))
        await interaction.edit_original_response(content=render.clip(text), view=view)

    @app_commands.command(name="shorten")
    @app_commands.describe(prompt="The prompt to analyse")
    async def shorten(self, interaction: discord.Interaction, prompt: app_commands.Range[str, 1, 1500]):
        """Which words of a prompt carry weight, and what the text encoder cuts off."""
        await interaction.response.defer(thinking=True)
        result = await self.bot.hub.shorten(ShortenRequest(prompt, origin=jobs.origin(interaction)))
        ranked = sorted((w for w in result.words if w.kept), key=lambda w: -w.weight)[:10]
        lines = [f"**Shortened:** {result.shortened}", f"Tokens: {result.token_count}/{result.token_limit}"]
        lines += [f"`{w.text}` {'█' * max(1, round(20 * w.weight))} {w.weight:.2f}" for w in ranked]
        if result.cut:
            lines.append(f"**Cut by the text encoder:** ~~{result.cut}~~")
        await interaction.edit_original_response(content=render.clip("\n".join(lines)))

    @app_commands.command(name="chat")
    @app_commands.describe(message="Your question about generative models (English or Spanish)")
    async def chat(self, interaction: discord.Interaction, message: app_commands.Range[str, 1, 1500]):
        """Ask the tutor about GANs, VAEs, RNNs, transformers, autoregressive and diffusion models."""
        await interaction.response.defer(thinking=True)
        answer = ""
        async for answer in self.bot.hub.ask_tutor(TutorRequest(message, origin=jobs.origin(interaction))):
            pass  # the last text is the whole answer, with its citations
        await interaction.edit_original_response(content=render.clip(answer))
