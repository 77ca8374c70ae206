"""The bot: a commands.Bot holding the shared Hub; buttons registered as dynamic items in setup_hook."""

from __future__ import annotations

import asyncio
import logging

import aiohttp

import discord
from discord.ext import commands

from bots import jobs
from bots.buttons import DYNAMIC
from bots.edits import on_modal
from bots.errors import answer_error
from bots.prefs import Prefs
from bots.cogs.imagine import Imagine
from bots.cogs.info import Info
from bots.cogs.prefs import Prefer, Settings
from bots.cogs.tools import ImagineThis, Tools

log = logging.getLogger(__name__)


class LienzoBot(commands.Bot):
    def __init__(self, hub, guild_id: int | None = None, sync: bool = True):
        # No privileged intents: slash commands and buttons arrive as interactions.
        # Prompts are user text: no message the bot sends may ping anyone (@everyone, roles, users) because of them.
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.none(),
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.hub, self.guild_id, self.sync_commands = hub, guild_id, sync
        self.actions = jobs  # what the buttons run (bots/buttons.py reaches it here rather than importing it)
        self.resuming: list[asyncio.Task] = []  # following jobs taken over after a restart
        self.prefs = None if hub is None else Prefs(hub.settings.data_dir)

    async def setup_hook(self) -> None:
        # attachments are downloaded with our own session: capped reads and one deadline (bots/media.py)
        self.cdn = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.hub.settings.image_fetch_seconds if self.hub is not None else 15)
        )
        if self.hub is not None:
            await self.hub.start()  # the queue on this loop; jobs a dead server left run again
            self.resuming = [
                asyncio.create_task(jobs.resume(self, reply, handle), name=f"lienzo-resume-{handle.job_id}")
                for _record, reply, handle in self.hub.recovered_jobs("discord")
            ]
        await add_cogs(self)
        self.add_dynamic_items(*DYNAMIC, ImagineThis)  # buttons from before a restart still work
        self.tree.on_error = self.on_app_command_error
        if self.sync_commands:
            guild = discord.Object(self.guild_id) if self.guild_id else None
            if guild:
                self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Modal submissions are answered from their custom_id (bots/edits.py), so they work after a restart."""
        if interaction.type == discord.InteractionType.modal_submit:
            await on_modal(interaction)

    async def close(self) -> None:
        await super().close()
        if getattr(self, "cdn", None) is not None:
            await self.cdn.close()
        if self.prefs is not None:
            self.prefs.close()

    async def on_app_command_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """Every slash command's failure, answered in one place (bots/errors.py; buttons share it)."""
        await answer_error(interaction, error, f"/{interaction.command.qualified_name if interaction.command else '?'}")


async def add_cogs(bot) -> None:
    for cog in (Imagine(bot), Tools(bot), Info(bot), Settings(bot), Prefer(bot)):
        await bot.add_cog(cog)


def command_payloads() -> list[dict]:
    """The application commands exactly as sync would send them (no token needed)."""
    import asyncio

    async def build():
        bot = LienzoBot(hub=None, sync=False)
        await add_cogs(bot)
        return [cmd.to_dict(bot.tree) for cmd in bot.tree.get_commands()]

    return asyncio.run(build())
