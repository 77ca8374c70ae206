"""/info, /show, /cancel and /help."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bots import jobs, render
from bots.buttons import grid_view, single_view
from hub.errors import LienzoError

HELP = """**Lienzo** draws with Kandinsky-style models.
`/imagine prompt` four images; flags: `--ar 16:9` `--seed 7` `--no text` `--chaos 0-100` `--q .5` `--stop 50` `--s 250` `--tile` `--iw 1.5` `--relax`; weights: `a cat::2 a hat::1`
Buttons: **U1-U4** one image · **V1-V4** variations · 🔄 reroll · **Vary (Subtle/Strong)** · **Upscale (2x)**
`/blend` 2-5 images · `/describe image` · `/shorten prompt` · `/chat question` (en/es)
`/info` your queue · `/show job_id` re-post a job · `/cancel job_id`"""


class Info(commands.Cog):
    def __init__(self, bot):
        self.bot = bot

    @app_commands.command(name="info")
    async def info(self, interaction: discord.Interaction):
        """Your queued and recent jobs."""
        hub = self.bot.hub
        user = jobs.origin(interaction).user
        recent = hub.list_jobs(user=user, limit=10)
        waiting = [j for j in recent if j.status in ("queued", "running")]
        lines = [
            f"**Queued or running:** {len(waiting)} (limit {hub.settings.user_max_jobs})",
            f"**Queue:** {hub.waiting()} waiting in all",
        ]
        lines += [f"`{j.id}` {j.kind} · {j.status} · {render.shown(j.request.get('prompt', '')[:60])}" for j in recent]
        await interaction.response.send_message(render.clip("\n".join(lines)), ephemeral=True)

    @app_commands.command(name="show")
    @app_commands.describe(job_id="The job's id (shown by /info)")
    async def show(self, interaction: discord.Interaction, job_id: app_commands.Range[str, 1, 40]):
        """Post a finished job again, with working buttons."""
        job = self.bot.hub.get_job(job_id.strip(), jobs.origin(interaction))
        if job.status != "done":
            raise LienzoError(f"job {job.id} is {job.status}")
        limit = interaction.filesize_limit
        await interaction.response.defer(thinking=True)  # encoding a large image may take longer than 3 s
        if job.grid is not None:
            file, view = (
                await render.encoded(str(job.grid), f"lienzo_{job.id}", limit),
                grid_view(job.id, len(job.images)),
            )
        else:
            file, view = await render.encoded(str(job.images[0]), f"lienzo_{job.id}", limit), single_view(job.id, 0)
        prompt = job.request.get("prompt", "")
        await interaction.edit_original_response(
            content=render.headline(prompt, interaction.user.id, f"(job {job.id})"), attachments=[file], view=view
        )

    @app_commands.command(name="cancel")
    @app_commands.describe(job_id="The job to cancel (yours, unless you manage the server)")
    async def cancel(self, interaction: discord.Interaction, job_id: app_commands.Range[str, 1, 40]):
        """Cancel a queued or running job."""
        done = self.bot.hub.cancel(job_id.strip(), jobs.origin(interaction))
        await interaction.response.send_message(
            "cancelled" if done else "that job is not queued or running", ephemeral=True
        )

    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction):
        """How to use Lienzo's commands."""
        await interaction.response.send_message(HELP, ephemeral=True)
