"""One place where a command's or a button's failure becomes an answer to the user.

Handlers raise `hub.errors.LienzoError` (bad input, a job that cannot run); `answer_error` turns it into an
ephemeral message in words. Anything else is our bug: it is logged with its traceback and the user gets a
plain apology, never the exception. Slash commands reach it through the command tree's `on_error`
(bots/app.py), buttons through `Button.callback` below (discord.py only logs a dynamic item's exceptions).
"""

from __future__ import annotations

import logging

import discord

from bots import render
from hub.errors import LienzoError, in_language

log = logging.getLogger(__name__)

OUR_SIDE = {
    "en": "something went wrong on our side; the error was logged",
    "es": "algo falló de nuestro lado; el error quedó registrado",
}
ANSWERED = "lienzo_answered"  # in Interaction.extras: the deferred response now shows something the user needs


def answered(interaction: discord.Interaction) -> None:
    interaction.extras[ANSWERED] = True


def language(interaction: discord.Interaction) -> str:
    """The user's Discord language as Lienzo speaks it: "es" for any Spanish, else "en"."""
    locale = getattr(interaction, "locale", None)
    return "es" if str(getattr(locale, "value", locale) or "").startswith("es") else "en"


async def fail(interaction: discord.Interaction, message: str) -> None:
    """Tell the user what went wrong, ephemerally, in words, in their language. A "thinking…" placeholder left by a
    deferral goes, unless the handler has since made it its answer (a job's message, marked by `answered`)."""
    text = render.clip(f"⚠️ {in_language(message, language(interaction))}")
    if not interaction.response.is_done():
        await interaction.response.send_message(text, ephemeral=True)
        return
    deferred = interaction.response.type == discord.InteractionResponseType.deferred_channel_message
    if deferred and not interaction.extras.get(ANSWERED):
        try:
            await interaction.delete_original_response()
        except discord.HTTPException:
            pass  # already gone, or the token expired: the follow-up below still reaches the user
    await interaction.followup.send(text, ephemeral=True)


async def answer_error(interaction: discord.Interaction, error: BaseException, what: str) -> None:
    """`what`: the command or button, for the log."""
    if isinstance(error, discord.app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, LienzoError):
        message = str(error)
    else:
        log.error("%s failed", what, exc_info=error)
        message = OUR_SIDE[language(interaction)]
    try:
        await fail(interaction, message)
    except discord.HTTPException as exc:  # the interaction expired or Discord refused: nothing left to tell
        log.warning("could not tell the user that %s failed (%s)", what, exc.status)


class Button(discord.ui.DynamicItem[discord.ui.Button], template=r"(?!)"):
    """A button that survives restarts; subclasses write `run`, whose errors are answered like a command's.
    (This base matches no custom_id and is never registered; each subclass gives its own template.)"""

    async def run(self, interaction: discord.Interaction) -> None:
        raise NotImplementedError

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self.run(interaction)
        except Exception as exc:  # one place for every button: see answer_error
            await answer_error(interaction, exc, f"button {self.item.custom_id}")
