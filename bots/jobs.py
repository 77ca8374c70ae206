"""Running a Hub job for an interaction: defer at once, show queue and progress, post the result.

Shared by slash commands and buttons. Every interaction is acknowledged before any work; progress
edits are throttled; a result that would outlive the 15-minute token goes out as a channel message.
"""

from __future__ import annotations

import logging
import re
import time

import discord

from bots import limits, media, render
from bots.buttons import cancel_view, grid_view, single_view
from bots.edits import say, send_modal
from bots.prefs import apply
from bots.errors import answered, fail
from hub.errors import Forbidden, InvalidRequest, JobNotFound, LienzoError, shown
from hub.types import (
    CREATIVE_STRENGTH,
    EnhanceRequest,
    ImagineRequest,
    Origin,
    PanRequest,
    RegionRequest,
    UpscaleRequest,
    VaryRequest,
    ZoomRequest,
)

log = logging.getLogger(__name__)


def origin(interaction: discord.Interaction, lane: str = "fast", prompt: str | None = None) -> Origin:
    """Who asked, and whether they administer the server. With `prompt`, also where to answer if the bot restarts
    before the job ends (kept with the job in the store until it ends: the interaction's id and its 15-minute
    token, the channel, the user)."""
    return Origin(
        user=f"discord:{interaction.user.id}",
        surface="discord",
        lane=lane,
        admin=is_admin(interaction),
        reply=None if prompt is None else reply_address(interaction, prompt),
    )


def is_admin(interaction: discord.Interaction) -> bool:
    """Manage Server or Administrator in this guild, as Discord resolved it for this interaction (roles and
    overwrites included): with no intents the bot caches no roles, so member.guild_permissions would refuse them."""
    perms = interaction.permissions
    return interaction.guild_id is not None and (perms.manage_guild or perms.administrator)


def reply_address(interaction: discord.Interaction, prompt: str) -> dict:
    user = interaction.user
    return {
        "interaction": {
            "id": str(interaction.id),
            "application_id": str(interaction.application_id),
            "type": 2,
            "token": interaction.token,
            "version": 1,
            "data": {},
            "attachment_size_limit": interaction.filesize_limit,
            "locale": interaction.locale.value,
            "user": {
                "id": str(user.id),
                "username": user.name,
                "discriminator": "0",
                "global_name": None,
                "avatar": None,
            },
        },
        "channel_id": interaction.channel_id,
        "prompt": prompt,
    }


class Reply:
    """The message a job updates: the interaction's original response while its token lives, then a channel message."""

    def __init__(self, interaction: discord.Interaction, channel=None):
        self.interaction = interaction
        self.channel = channel  # where to post once the token has expired (default: the interaction's channel)
        self.started = time.monotonic()
        self.channel_message: discord.Message | None = None

    @property
    def token_alive(self) -> bool:
        age = (discord.utils.utcnow() - self.interaction.created_at).total_seconds()
        return age < limits.TOKEN_SECONDS - limits.TOKEN_MARGIN

    async def edit(self, content: str, files: list[discord.File] = (), view: discord.ui.View | None = None) -> None:
        kwargs = {"content": content, "attachments": list(files)}
        if view is not None:
            kwargs["view"] = view
        if self.token_alive:
            await self.interaction.edit_original_response(**kwargs)
            answered(self.interaction)
            return
        channel = self.channel or self.interaction.channel
        if self.channel_message is None:
            self.channel_message = await channel.send(
                content=content, files=list(files), view=view or discord.utils.MISSING
            )
        else:
            await self.channel_message.edit(**kwargs)


async def follow_job(interaction: discord.Interaction, reply: Reply, handle, prompt: str) -> None:
    """Progress edits (at most every 1.5 s, only when the percentage changes), then the grid and buttons."""
    last_edit, last_text = 0.0, None
    limit = interaction.filesize_limit
    try:
        async for event in handle.events():
            if event.stage in ("done", "failed", "cancelled"):
                break
            text = render.progress_text(
                prompt, interaction.user.id, event.stage, event.step, event.total, event.position
            )
            now = time.monotonic()
            if text == last_text or now - last_edit < limits.PROGRESS_EVERY:
                continue
            files = [await render.encoded(event.preview, "preview", limit)] if event.preview is not None else []
            await reply.edit(text, files, cancel_view(handle.job_id))  # ❌ stops it while it runs
            last_edit, last_text = now, text
        result = await handle.result()
    except LienzoError as exc:
        view = discord.ui.View(timeout=None)  # the ❌ goes: nothing left to cancel
        await reply.edit(render.headline(prompt, interaction.user.id, f"— failed: {exc}"), view=view)
        await fail(interaction, str(exc))  # the job's message says "failed"; the reason goes to the user alone
        return
    tail = f"(seed {result.seeds[0]}) ({result.model})" + "".join(f"\n⚠️ {render.shown(n)}" for n in result.notes)
    if result.grid is not None:
        await reply.edit(
            render.headline(prompt, interaction.user.id, tail),
            [await render.encoded(str(result.grid), f"lienzo_{result.job_id}", limit)],
            grid_view(result.job_id, len(result.images), draft=_is_draft(interaction, result.job_id)),
        )
    else:
        await reply.edit(
            render.headline(prompt, interaction.user.id, tail),
            [await render.encoded(str(result.images[0]), f"lienzo_{result.job_id}", limit)],
            single_view(result.job_id, 0, interaction),
        )


def _is_draft(interaction: discord.Interaction, job_id: str) -> bool:
    return bool(interaction.client.hub.get_job(job_id).request.get("draft"))  # the host's view: the job just ran


async def start(interaction: discord.Interaction, submit, prompt: str) -> None:
    """Defer first (within Discord's 3 s), then submit; typed errors become ephemeral messages."""
    await interaction.response.defer(thinking=True)
    handle = await submit  # a LienzoError here is answered by bots.errors (the placeholder goes)
    await follow_job(interaction, Reply(interaction), handle, prompt)


async def resume(bot, reply: dict, handle) -> None:
    """After a restart: follow a job the Hub took over and edit its message when it ends (a channel message if
    the interaction's token has expired meanwhile)."""
    interaction = discord.Interaction(data=reply["interaction"], state=bot._connection)
    # it was acknowledged (deferred) before the restart: further answers go through its webhook
    interaction.response._response_type = discord.InteractionResponseType.deferred_channel_message
    channel = bot.get_partial_messageable(reply["channel_id"]) if reply.get("channel_id") else None
    try:
        await follow_job(interaction, Reply(interaction, channel), handle, reply["prompt"])
    except discord.HTTPException as exc:
        log.warning("could not deliver recovered job %s to Discord (%s)", handle.job_id, exc.status)


def blocked(interaction: discord.Interaction, prompt: str) -> str | None:
    """A blocked word in the prompt, unless the channel is marked NSFW."""
    words = interaction.client.hub.settings.blocked_words
    if not words or getattr(interaction.channel, "is_nsfw", lambda: False)():
        return None
    text = prompt.lower()
    return next((w for w in words if re.search(rf"\b{re.escape(w)}\b", text)), None)


async def run_imagine(
    interaction: discord.Interaction, prompt: str, attachments=(), lane: str = "fast", draft: bool = False
) -> None:
    """attachments: (discord.Attachment, what) pairs already checked by bots.media.check; downloaded after the
    interaction is deferred."""
    bot = interaction.client
    prefs = bot.prefs.get(origin(interaction).user) if bot.prefs else {}
    prompt = apply(prompt, prefs)
    word = blocked(interaction, prompt)
    if word:
        raise InvalidRequest(f"the word {shown(word)} is not allowed in this channel")
    bot.hub.check_prompt(prompt)  # microseconds: a bad flag is answered at once, with no "thinking" message
    hub = bot.hub

    async def submit():
        images = await media.download_all(bot.cdn, list(attachments), hub.settings) if attachments else []
        return await hub.imagine(
            ImagineRequest(
                prompt,
                model=prefs.get("model"),
                images=tuple(images),
                preview=True,
                draft=draft,
                origin=origin(interaction, lane, prompt),
            )
        )

    await start(interaction, submit(), prompt)


def job_prompt(interaction: discord.Interaction, job_id: str) -> str:
    """The prompt of a stored job the user may open (JobNotFound otherwise)."""
    return interaction.client.hub.get_job(job_id, origin(interaction)).request.get("prompt", "")


def remixing(interaction: discord.Interaction) -> bool:
    """The user's Remix setting (/settings remix): variations and rerolls ask for the prompt first."""
    prefs = interaction.client.prefs
    return bool(prefs and prefs.get(origin(interaction).user).get("remix"))


async def run_vary(
    interaction: discord.Interaction, job_id: str, index: int, strength: str, prompt: str | None = None
) -> None:
    """V1-V4 and Vary (Subtle/Strong); with Remix on and no prompt yet, the prompt's modal first."""
    if prompt is None and remixing(interaction):
        code = "s" if strength == "subtle" else "t"
        title = say(interaction, "remix")
        await send_modal(interaction, f"lz:m:v:{job_id}:{index}:{code}", title, job_prompt(interaction, job_id))
        return
    base = prompt.strip() if prompt and prompt.strip() else job_prompt(interaction, job_id)
    title = f"{base} — Variations ({strength}{', remix' if prompt else ''}) by"
    req = VaryRequest(job_id, index, strength, prompt=prompt, preview=True, origin=origin(interaction, prompt=title))
    await start(interaction, interaction.client.hub.vary(req), title)


async def run_upscale(interaction: discord.Interaction, job_id: str, index: int, creative: bool = False) -> None:
    title = f"{job_prompt(interaction, job_id)} — Upscaled ({'Creative' if creative else 'Subtle'}) by"
    strength = CREATIVE_STRENGTH if creative else UpscaleRequest.strength
    req = UpscaleRequest(job_id, index, strength=strength, preview=True, origin=origin(interaction, prompt=title))
    await start(interaction, interaction.client.hub.upscale(req), title)


async def run_enhance(interaction: discord.Interaction, job_id: str, index: int) -> None:
    title = f"{job_prompt(interaction, job_id)} — Enhanced by"
    req = EnhanceRequest(job_id, index, preview=True, origin=origin(interaction, prompt=title))
    await start(interaction, interaction.client.hub.enhance(req), title)


async def run_reroll(interaction: discord.Interaction, job_id: str, prompt: str | None = None) -> None:
    """🔄: the job's prompt again; with Remix on, the prompt's modal first and the edited prompt then."""
    job = interaction.client.hub.get_job(job_id, origin(interaction))
    if prompt is None and remixing(interaction):
        await send_modal(interaction, f"lz:m:o:{job_id}:0", say(interaction, "remix"), job.request.get("prompt", ""))
        return
    text = prompt if prompt and prompt.strip() else job.request.get("prompt", "")
    await run_imagine(interaction, text, draft=bool(job.request.get("draft")))


async def run_region(interaction: discord.Interaction, job_id: str, index: int, area: str, prompt: str) -> None:
    title = f"{prompt.strip() or job_prompt(interaction, job_id)} — Vary (Region) by"
    req = RegionRequest(
        job_id, index, area=area, prompt=prompt or None, preview=True, origin=origin(interaction, prompt=title)
    )
    await start(interaction, interaction.client.hub.vary_region(req), title)


async def run_zoom(interaction: discord.Interaction, job_id: str, index: int, factor, prompt: str | None = None):
    shown_factor = f"{factor:g}x" if isinstance(factor, float) else "?"
    title = f"{(prompt or '').strip() or job_prompt(interaction, job_id)} — Zoom Out ({shown_factor}) by"
    who = origin(interaction, prompt=title)
    req = ZoomRequest(job_id, index, factor, prompt=prompt or None, preview=True, origin=who)
    await start(interaction, interaction.client.hub.zoom_out(req), title)


async def run_pan(interaction: discord.Interaction, job_id: str, index: int, direction: str) -> None:
    title = f"{job_prompt(interaction, job_id)} — Pan ({direction}) by"
    req = PanRequest(job_id, index, direction, preview=True, origin=origin(interaction, prompt=title))
    await start(interaction, interaction.client.hub.pan(req), title)


async def show_settings(interaction: discord.Interaction, job_id: str) -> None:
    """📋: every image's seed and settings, to the user alone (read from the PNGs: no GPU work)."""
    hub = interaction.client.hub
    job = hub.get_job(job_id, origin(interaction))
    lines = [f"`{job.id}` · {render.shown(job.request.get('prompt', ''))}"]
    for n, path in enumerate(job.images, 1):
        info = hub.png_info(path.read_bytes())
        lines.append(
            say(
                interaction,
                "settings",
                n=n,
                seed=info.get("Seed", "?"),
                steps=info.get("Steps", "?"),
                cfg=info.get("CFG scale", "?"),
                sampler=info.get("Sampler", "?"),
                size=info.get("Size", "?"),
            )
        )
    await interaction.response.send_message(render.clip("\n".join(lines)), ephemeral=True)


async def cancel_or_delete(interaction: discord.Interaction, job_id: str) -> None:
    """❌: a queued or running job is cancelled (its message then says so); a finished one's message is deleted.
    Only the job's owner or a server manager; anyone else is told so, ephemerally."""
    try:
        running = interaction.client.hub.cancel(job_id, origin(interaction))
    except (JobNotFound, Forbidden):
        await interaction.response.send_message(say(interaction, "not_yours"), ephemeral=True)
        return
    if running:
        await interaction.response.send_message(say(interaction, "cancelled"), ephemeral=True)
        return
    await interaction.response.defer()  # an update of the message the button is on: then it goes
    await interaction.delete_original_response()


async def show_single(interaction: discord.Interaction, job_id: str, index: int) -> None:
    """U1-U4: the chosen image alone, with Vary and Upscale buttons. Read from the store: no GPU work."""
    hub = interaction.client.hub
    job = hub.get_job(job_id, origin(interaction))
    if not 0 <= index < len(job.images):
        raise InvalidRequest(f"job {job_id} has no image {index + 1}")
    await interaction.response.defer(thinking=True)  # encoding a large image may take longer than Discord's 3 s
    file = await render.encoded(str(job.images[index]), f"lienzo_{job_id}_{index + 1}", interaction.filesize_limit)
    prompt = job.request.get("prompt", "")
    await interaction.edit_original_response(
        content=render.headline(prompt, interaction.user.id, f"— Image #{index + 1}"),
        attachments=[file],
        view=single_view(job_id, index, interaction),
    )
