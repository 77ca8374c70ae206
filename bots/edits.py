"""Midjourney's editing buttons on an upscaled image, and the job controls: Vary (Region), Zoom Out, Pan, Upscale
(Creative), 📋 (each image's seed and settings), ❌ (cancel a running job or delete a finished message), and Remix
(a prompt to edit before a variation or a reroll).

Like bots/buttons.py, everything survives a restart: buttons and the area menu are dynamic items whose custom_id
carries only ids, and modals are answered from their custom_id by `on_modal` (bots/app.py routes every modal
submission here), not by an object kept in memory.

custom_id grammar (at most 100 characters), after bots/buttons.py's:
  g  Vary (Region): offer the areas (a menu, ephemeral)         a  the area menu itself: lz:a:<job>:<i>
  c  Upscale (Creative)                                          z  Zoom Out: lz:z:<job>:<i>:<15|20>
  k  Zoom Out (Custom): a modal for the factor                   p  Pan: lz:p:<job>:<i>:<l|r|u|d>
  i  📋 seeds and settings, ephemeral: lz:i:<job>                d  ❌ cancel or delete: lz:d:<job>
  modals: lz:m:<r|k|v|o>:<job>:<i>[:<area|s|t>] (region prompt, zoom factor, remixed vary, remixed reroll)
"""

from __future__ import annotations

import re

import discord

from bots.errors import Button, answer_error, language

JOB = r"(?P<job>[0-9a-f]{10})"
PAN = {"l": "left", "r": "right", "u": "up", "d": "down"}
ARROWS = {"l": "⬅️", "r": "➡️", "u": "⬆️", "d": "⬇️"}
MODAL = re.compile(r"lz:m:(?P<what>[rkvo]):" + JOB + r":(?P<i>[0-3])(?::(?P<extra>[a-z0-9-]{1,12}))?")

TEXT = {
    "en": {
        "region": "Vary (Region)",
        "creative": "Upscale (Creative)",
        "zoom2": "Zoom Out 2x",
        "zoom15": "Zoom Out 1.5x",
        "custom": "Custom Zoom",
        "choose": "Which part should be repainted?",
        "editor": "Open the web editor",
        "prompt": "Prompt",
        "factor": "Zoom out by (1.05 to 2)",
        "remix": "Remix: edit the prompt",
        "area": "Vary (Region): {area}",
        "left": "left half",
        "right": "right half",
        "top": "top half",
        "bottom": "bottom half",
        "centre": "centre",
        "top-left": "top-left quarter",
        "top-right": "top-right quarter",
        "bottom-left": "bottom-left quarter",
        "bottom-right": "bottom-right quarter",
        "cancelled": "cancelled",
        "not_yours": "only the person who made this job (or a server manager) can cancel or delete it",
        "settings": "**Image {n}** · seed {seed} · {steps} steps · CFG {cfg} · {sampler} · {size}",
    },
    "es": {
        "region": "Variar (zona)",
        "creative": "Ampliar (creativo)",
        "zoom2": "Alejar 2x",
        "zoom15": "Alejar 1,5x",
        "custom": "Alejar a medida",
        "choose": "¿Qué parte quieres repintar?",
        "editor": "Abrir el editor web",
        "prompt": "Prompt",
        "factor": "Alejar (de 1.05 a 2)",
        "remix": "Remix: edita el prompt",
        "area": "Variar (zona): {area}",
        "left": "mitad izquierda",
        "right": "mitad derecha",
        "top": "mitad de arriba",
        "bottom": "mitad de abajo",
        "centre": "centro",
        "top-left": "cuarto de arriba a la izquierda",
        "top-right": "cuarto de arriba a la derecha",
        "bottom-left": "cuarto de abajo a la izquierda",
        "bottom-right": "cuarto de abajo a la derecha",
        "cancelled": "cancelado",
        "not_yours": "solo quien hizo este trabajo (o quien administra el servidor) puede cancelarlo o borrarlo",
        "settings": "**Imagen {n}** · semilla {seed} · {steps} pasos · CFG {cfg} · {sampler} · {size}",
    },
}


def say(interaction: discord.Interaction, key: str, **values) -> str:
    return TEXT[language(interaction)][key].format(**values)


def area_label(interaction: discord.Interaction, region) -> str:
    return region.labels.get(language(interaction)) or say(interaction, region.name)


def button(label: str, custom_id: str, emoji: str | None = None, style=discord.ButtonStyle.secondary, row=None):
    """A persistent button's look (bots/buttons.py's and these)."""
    return discord.ui.Button(label=label or None, custom_id=custom_id, emoji=emoji, style=style, row=row)


class EditButton(Button, template=r"lz:(?P<act>[gck]):" + JOB + r":(?P<i>[0-3])"):
    """Vary (Region), Upscale (Creative) and Custom Zoom on an upscaled image."""

    LOOK = {"g": ("region", "🖌️"), "c": ("creative", "🔍"), "k": ("custom", "🔍")}

    def __init__(self, act: str, job: str, i: int, label: str = "", row: int | None = None):
        self.act, self.job, self.i = act, job, i
        super().__init__(button(label, f"lz:{act}:{job}:{i}", self.LOOK[act][1], row=row))

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["act"], match["job"], int(match["i"]))

    async def run(self, interaction: discord.Interaction) -> None:
        actions = interaction.client.actions
        if self.act == "c":
            await actions.run_upscale(interaction, self.job, self.i, creative=True)
        elif self.act == "g":
            await offer_areas(interaction, self.job, self.i)
        else:
            prompt = actions.job_prompt(interaction, self.job)  # refuses another user's job before any modal
            await send_modal(interaction, f"lz:m:k:{self.job}:{self.i}", say(interaction, "custom"), prompt, zoom=True)


class ZoomButton(Button, template=r"lz:z:" + JOB + r":(?P<i>[0-3]):(?P<f>15|20)"):
    def __init__(self, job: str, i: int, f: str, label: str = "", row: int | None = None):
        self.job, self.i, self.f = job, i, f
        super().__init__(button(label, f"lz:z:{job}:{i}:{f}", "🔍", row=row))

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["job"], int(match["i"]), match["f"])

    async def run(self, interaction: discord.Interaction) -> None:
        await interaction.client.actions.run_zoom(interaction, self.job, self.i, int(self.f) / 10)


class PanButton(Button, template=r"lz:p:" + JOB + r":(?P<i>[0-3]):(?P<d>[lrud])"):
    def __init__(self, job: str, i: int, d: str, row: int | None = None):
        self.job, self.i, self.d = job, i, d
        super().__init__(button("", f"lz:p:{job}:{i}:{d}", ARROWS[d], row=row))

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["job"], int(match["i"]), match["d"])

    async def run(self, interaction: discord.Interaction) -> None:
        await interaction.client.actions.run_pan(interaction, self.job, self.i, PAN[self.d])


class JobButton(Button, template=r"lz:(?P<act>[id]):" + JOB):
    """📋: every image's seed and settings, to the user alone. ❌: cancel the job while it runs; delete its message
    once it is done (the job's owner or a server manager)."""

    def __init__(self, act: str, job: str, row: int | None = None):
        self.act, self.job = act, job
        super().__init__(button("", f"lz:{act}:{job}", "📋" if act == "i" else "❌", row=row))

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["act"], match["job"])

    async def run(self, interaction: discord.Interaction) -> None:
        actions = interaction.client.actions
        if self.act == "i":
            await actions.show_settings(interaction, self.job)
        else:
            await actions.cancel_or_delete(interaction, self.job)


class AreaMenu(discord.ui.DynamicItem[discord.ui.Select], template=r"lz:a:" + JOB + r":(?P<i>[0-3])"):
    """The areas of Vary (Region), as a menu (Discord has no canvas); picking one opens the prompt's modal."""

    def __init__(self, job: str, i: int, options: list[discord.SelectOption] | None = None, placeholder=None):
        self.job, self.i = job, i
        options = options or [discord.SelectOption(label="left", value="left")]
        select = discord.ui.Select(custom_id=f"lz:a:{job}:{i}", options=options, placeholder=placeholder)
        super().__init__(select)

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["job"], int(match["i"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            area = (interaction.data or {}).get("values", [""])[0]
            prompt = interaction.client.actions.job_prompt(interaction, self.job)
            title = say(interaction, "area", area=TEXT[language(interaction)].get(area, area))[:45]
            await send_modal(interaction, f"lz:m:r:{self.job}:{self.i}:{area}", title, prompt)
        except Exception as exc:
            await answer_error(interaction, exc, f"menu {self.item.custom_id}")


async def offer_areas(interaction: discord.Interaction, job: str, i: int) -> None:
    """The areas Hub.regions gives for this image (halves, quarters, centre, the shapes found), in a menu only the
    user sees; with LIENZO_PUBLIC_URL set and the job shared (a web visitor is not the Discord user, so only a shared
    job opens there), a link to the web editor on this image as well."""
    hub = interaction.client.hub
    regions = hub.regions(job, i, interaction.client.actions.origin(interaction))
    options = [discord.SelectOption(label=area_label(interaction, r)[:100], value=r.name) for r in regions][:25]
    view = discord.ui.View(timeout=None)
    view.add_item(AreaMenu(job, i, options, say(interaction, "choose")))
    public = hub.settings.public_url
    if public and hub.get_job(job, interaction.client.actions.origin(interaction)).shared:  # others' pages see it
        link = f"{public.rstrip('/')}/?job={job}&image={i + 1}"
        view.add_item(discord.ui.Button(label=say(interaction, "editor"), url=link, style=discord.ButtonStyle.link))
    await interaction.response.send_message(say(interaction, "choose"), view=view, ephemeral=True)


async def send_modal(interaction, custom_id: str, title: str, prompt: str, zoom: bool = False) -> None:
    modal = discord.ui.Modal(title=title[:45], custom_id=custom_id, timeout=None)
    if zoom:
        modal.add_item(
            discord.ui.TextInput(label=say(interaction, "factor"), custom_id="factor", default="1.5", max_length=8)
        )
    modal.add_item(
        discord.ui.TextInput(
            label=say(interaction, "prompt"),
            custom_id="prompt",
            default=prompt[:4000],
            style=discord.TextStyle.paragraph,
            required=not zoom,
            max_length=4000,
        )
    )
    modal.stop()  # answered by on_modal from its custom_id (it works after a restart), not kept in memory
    await interaction.response.send_modal(modal)


def _values(components) -> dict[str, str]:
    """A modal submission's text inputs by custom_id (inside action rows or labels, wherever Discord puts them)."""
    out = {}
    for c in components or []:
        if "value" in c and "custom_id" in c:
            out[c["custom_id"]] = c["value"]
        out.update(_values(c.get("components") or ([c["component"]] if c.get("component") else [])))
    return out


async def on_modal(interaction: discord.Interaction) -> None:
    """A modal this bot opened, submitted: run what its custom_id says with the text typed."""
    data = interaction.data or {}
    m = MODAL.fullmatch(data.get("custom_id", ""))
    if m is None:
        return
    try:
        values = _values(data.get("components"))
        actions, job, i, prompt = interaction.client.actions, m["job"], int(m["i"]), values.get("prompt", "")
        if m["what"] == "r":
            await actions.run_region(interaction, job, i, m["extra"] or "", prompt)
        elif m["what"] == "k":
            await actions.run_zoom(interaction, job, i, _factor(values.get("factor", "")), prompt)
        elif m["what"] == "v":
            await actions.run_vary(interaction, job, i, "subtle" if m["extra"] == "s" else "strong", prompt=prompt)
        else:
            await actions.run_reroll(interaction, job, prompt=prompt)
    except Exception as exc:
        await answer_error(interaction, exc, f"modal {data.get('custom_id')}")


def _factor(text: str):
    """The typed zoom factor as a number (a comma as decimal mark too); anything else goes to the Hub's check."""
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        return text.strip()[:20]


def edit_rows(view: discord.ui.View, job: str, i: int, interaction=None) -> None:
    """The editing rows of an upscaled image: region, creative upscale; zooms; pans."""
    word = (lambda key: say(interaction, key)) if interaction is not None else (lambda key: TEXT["en"][key])
    view.add_item(EditButton("g", job, i, word("region"), row=1))
    view.add_item(EditButton("c", job, i, word("creative"), row=1))
    view.add_item(ZoomButton(job, i, "20", word("zoom2"), row=2))
    view.add_item(ZoomButton(job, i, "15", word("zoom15"), row=2))
    view.add_item(EditButton("k", job, i, word("custom"), row=2))
    for d in "lrud":
        view.add_item(PanButton(job, i, d, row=3))


def job_row(view: discord.ui.View, job: str, row: int) -> None:
    view.add_item(JobButton("i", job, row=row))
    view.add_item(JobButton("d", job, row=row))


DYNAMIC = (EditButton, ZoomButton, PanButton, JobButton, AreaMenu)
