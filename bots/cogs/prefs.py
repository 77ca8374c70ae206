"""/settings and /prefer: defaults each user sets once (model, aspect, stylize, lane, suffix, custom options)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bots import jobs, render
from hub.errors import ModelUnavailable, shown
from hub.types import ASPECTS


def describe(prefs: dict) -> str:
    options = prefs.get("options", {})
    lines = [
        f"**Model:** {prefs.get('model', 'default')}",
        f"**Aspect:** {prefs.get('aspect', '1:1')}",
        f"**Stylize:** {prefs.get('stylize', 100)}",
        f"**Mode:** {prefs.get('lane', 'fast')}",
        f"**Suffix:** {prefs.get('suffix') or '—'}",
        f"**Remix:** {'on' if prefs.get('remix') else 'off'}",
    ]
    lines += [f"`--{k}` → {v}" for k, v in sorted(options.items())]
    return render.clip("\n".join(lines))


class Prefer(commands.GroupCog, group_name="prefer"):
    """Your prompt suffix and custom options."""

    def __init__(self, bot):
        self.bot = bot
        super().__init__()

    @app_commands.command(name="suffix")
    @app_commands.describe(text="Added to the end of every prompt (leave empty to remove)")
    async def suffix(self, interaction: discord.Interaction, text: app_commands.Range[str, 0, 200] | None = None):
        """Set the text added to the end of all your prompts."""
        prefs = self.bot.prefs.update(jobs.origin(interaction).user, suffix=(text or "").strip() or None)
        await interaction.response.send_message(describe(prefs), ephemeral=True)

    option = app_commands.Group(name="option", description="Custom options: --name expands to your text")

    @option.command(name="set")
    @app_commands.describe(name="The option's name, used as --name", value="What --name expands to")
    async def option_set(
        self,
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, 20],
        value: app_commands.Range[str, 1, 500],
    ):
        """Create or change a custom option."""
        prefs = self.bot.prefs.set_option(jobs.origin(interaction).user, name, value)
        await interaction.response.send_message(describe(prefs), ephemeral=True)

    @option.command(name="list")
    async def option_list(self, interaction: discord.Interaction):
        """Your custom options."""
        await interaction.response.send_message(
            describe(self.bot.prefs.get(jobs.origin(interaction).user)), ephemeral=True
        )

    @option.command(name="delete")
    @app_commands.describe(name="The option to delete")
    async def option_delete(self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 20]):
        """Delete a custom option."""
        found = self.bot.prefs.delete_option(jobs.origin(interaction).user, name)
        text = "deleted" if found else f"you have no option {shown('--' + name)}"
        await interaction.response.send_message(text, ephemeral=True)


class Settings(commands.Cog):
    def __init__(self, bot):
        self.bot = bot

    @app_commands.command(name="settings")
    @app_commands.describe(
        model="Default model",
        aspect="Default aspect ratio",
        stylize="Default --stylize (0-1000)",
        mode="fast: first in line; relax: when the queue is quieter",
        remix="Remix: edit the prompt before V1-V4, Vary and 🔄",
    )
    @app_commands.choices(
        aspect=[app_commands.Choice(name=a, value=a) for a in ASPECTS],
        mode=[app_commands.Choice(name=m, value=m) for m in ("fast", "relax")],
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        model: str | None = None,
        aspect: app_commands.Choice[str] | None = None,
        stylize: app_commands.Range[int, 0, 1000] | None = None,
        mode: app_commands.Choice[str] | None = None,
        remix: bool | None = None,
    ):
        """Show or change your defaults."""
        user = jobs.origin(interaction).user
        changes = {}
        if model is not None:
            runnable = [s.name for s, a in self.bot.hub.models() if a.ok and s.can("text2img")]
            if model not in runnable:
                raise ModelUnavailable(f"model {shown(model)} cannot run here; choose one of: {', '.join(runnable)}")
            changes["model"] = model
        if aspect is not None:
            changes["aspect"] = aspect.value
        if stylize is not None:
            changes["stylize"] = stylize
        if mode is not None:
            changes["lane"] = mode.value
        if remix is not None:
            changes["remix"] = remix
        prefs = self.bot.prefs.update(user, **changes) if changes else self.bot.prefs.get(user)
        await interaction.response.send_message(describe(prefs), ephemeral=True)

    @settings.autocomplete("model")
    async def model_names(self, interaction: discord.Interaction, current: str):
        names = [s.name for s, a in self.bot.hub.models() if a.ok and s.can("text2img")]
        return [app_commands.Choice(name=n, value=n) for n in names if current.lower() in n][:25]
