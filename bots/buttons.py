"""Buttons that survive restarts: every state lives in the job store, the custom_id carries only ids.

A click runs its action through the bot (`interaction.client.actions`, bots/jobs.py): this module builds the
buttons bots/jobs.py posts, so it does not import it back.

custom_id grammar (at most 100 characters): lz:<action>:<job id>[:<image index>]
  u  upscale one image of a grid (Midjourney's U1-U4: show it alone)   v  vary it (V1-V4)
  e  enhance one image of a draft grid (E1-E4: again at full quality)
  r  reroll the prompt                                                   s / t  vary a single image subtly / strongly
  x  upscale a single image 2x with img2img
"""

from __future__ import annotations

import discord

from bots.errors import Button

JOB = r"(?P<job>[0-9a-f]{10})"


def _button(label: str, custom_id: str, emoji: str | None = None, style=discord.ButtonStyle.secondary, row=None):
    return discord.ui.Button(label=label or None, custom_id=custom_id, emoji=emoji, style=style, row=row)


class GridButton(Button, template=r"lz:(?P<act>[uve]):" + JOB + r":(?P<i>[0-3])"):
    ROWS = {"u": 0, "v": 1, "e": 2}

    def __init__(self, act: str, job: str, i: int):
        self.act, self.job, self.i = act, job, i
        emoji = "✨" if act == "e" else None
        super().__init__(_button(f"{act.upper()}{i + 1}", f"lz:{act}:{job}:{i}", emoji=emoji, row=self.ROWS[act]))

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["act"], match["job"], int(match["i"]))

    async def run(self, interaction: discord.Interaction):
        if self.act == "u":
            await interaction.client.actions.show_single(interaction, self.job, self.i)
        elif self.act == "e":
            await interaction.client.actions.run_enhance(interaction, self.job, self.i)
        else:
            await interaction.client.actions.run_vary(interaction, self.job, self.i, "strong")


class RerollButton(Button, template=r"lz:r:" + JOB):
    def __init__(self, job: str):
        self.job = job
        super().__init__(_button("", f"lz:r:{job}", emoji="🔄", row=1))

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["job"])

    async def run(self, interaction: discord.Interaction):
        await interaction.client.actions.run_reroll(interaction, self.job)


class SingleButton(Button, template=r"lz:(?P<act>[stx]):" + JOB + r":(?P<i>[0-3])"):
    LABELS = {"s": ("Vary (Subtle)", "🪄"), "t": ("Vary (Strong)", "🪄"), "x": ("Upscale (2x)", "🔍")}

    def __init__(self, act: str, job: str, i: int):
        self.act, self.job, self.i = act, job, i
        label, emoji = self.LABELS[act]
        super().__init__(_button(label, f"lz:{act}:{job}:{i}", emoji=emoji))

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["act"], match["job"], int(match["i"]))

    async def run(self, interaction: discord.Interaction):
        if self.act == "x":
            await interaction.client.actions.run_upscale(interaction, self.job, self.i)
        else:
            await interaction.client.actions.run_vary(
                interaction, self.job, self.i, "subtle" if self.act == "s" else "strong"
            )


def grid_view(job_id: str, count: int, draft: bool = False) -> discord.ui.View:
    """U1-U4, V1-V4 and reroll; a draft grid also gets E1-E4 (Enhance)."""
    view = discord.ui.View(timeout=None)
    for act in ("u", "v", "e") if draft else ("u", "v"):
        for i in range(count):
            view.add_item(GridButton(act, job_id, i))
        if act == "v":
            view.add_item(RerollButton(job_id))
    return view


def single_view(job_id: str, index: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for act in ("s", "t", "x"):
        view.add_item(SingleButton(act, job_id, index))
    return view


DYNAMIC = (GridButton, RerollButton, SingleButton)
