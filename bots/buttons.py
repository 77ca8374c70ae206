"""Buttons that survive restarts: every state lives in the job store, the custom_id carries only ids.

A click runs its action through the bot (`interaction.client.actions`, bots/jobs.py): this module builds the
buttons bots/jobs.py posts, so it does not import it back.

custom_id grammar (at most 100 characters): lz:<action>:<job id>[:<image index>]
  u  upscale one image of a grid (Midjourney's U1-U4: show it alone)   v  vary it (V1-V4)
  e  enhance one image of a draft grid (E1-E4: again at full quality)
  r  reroll the prompt                                                   s / t  vary a single image subtly / strongly
  x  upscale a single image 2x with img2img (subtle)
The editing buttons (Vary (Region), Zoom Out, Pan, Upscale (Creative), 📋, ❌) are in bots/edits.py.
"""

from __future__ import annotations

import discord

from bots import edits
from bots.errors import Button

JOB = r"(?P<job>[0-9a-f]{10})"


class GridButton(Button, template=r"lz:(?P<act>[uve]):" + JOB + r":(?P<i>[0-3])"):
    ROWS = {"u": 0, "v": 1, "e": 2}

    def __init__(self, act: str, job: str, i: int):
        self.act, self.job, self.i = act, job, i
        emoji = "✨" if act == "e" else None
        super().__init__(edits.button(f"{act.upper()}{i + 1}", f"lz:{act}:{job}:{i}", emoji=emoji, row=self.ROWS[act]))

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
        super().__init__(edits.button("", f"lz:r:{job}", emoji="🔄", row=1))

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["job"])

    async def run(self, interaction: discord.Interaction):
        await interaction.client.actions.run_reroll(interaction, self.job)


class SingleButton(Button, template=r"lz:(?P<act>[stx]):" + JOB + r":(?P<i>[0-3])"):
    LABELS = {"s": ("Vary (Subtle)", "🪄"), "t": ("Vary (Strong)", "🪄"), "x": ("Upscale (Subtle)", "🔍")}

    def __init__(self, act: str, job: str, i: int):
        self.act, self.job, self.i = act, job, i
        label, emoji = self.LABELS[act]
        super().__init__(edits.button(label, f"lz:{act}:{job}:{i}", emoji=emoji, row=0))

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
    """U1-U4, V1-V4 and reroll; a draft grid also gets E1-E4 (Enhance); then 📋 and ❌."""
    view = discord.ui.View(timeout=None)
    for act in ("u", "v", "e") if draft else ("u", "v"):
        for i in range(count):
            view.add_item(GridButton(act, job_id, i))
        if act == "v":
            view.add_item(RerollButton(job_id))
    edits.job_row(view, job_id, row=3 if draft else 2)
    return view


def single_view(job_id: str, index: int, interaction=None) -> discord.ui.View:
    """An upscaled image: Vary (Subtle/Strong) and Upscale (Subtle); the editing rows (bots/edits.py); 📋 and ❌.
    `interaction`: whose language the labels take (English without one)."""
    view = discord.ui.View(timeout=None)
    for act in ("s", "t", "x"):
        view.add_item(SingleButton(act, job_id, index))
    edits.edit_rows(view, job_id, index, interaction)
    edits.job_row(view, job_id, row=4)
    return view


def cancel_view(job_id: str) -> discord.ui.View:
    """While a job runs: ❌ alone."""
    view = discord.ui.View(timeout=None)
    view.add_item(edits.JobButton("d", job_id))
    return view


DYNAMIC = (GridButton, RerollButton, SingleButton, *edits.DYNAMIC)
