"""Attacks on the bot, through the local Discord fake that keeps Discord's published schema.

Each failed on the code before issue 15: attachments were downloaded before the interaction was
acknowledged, and anyone could show or vary anyone's job.
"""

from __future__ import annotations

import time

from PIL import Image

from tests.conftest import run


def test_five_10MB_attachments_behind_a_slow_cdn_are_acknowledged_in_time(settings):
    import io

    import numpy as np

    from tests.bots.test_bot import discord_bot, done_message, send

    noise = np.random.default_rng(0).integers(0, 256, (1830, 1830, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, format="PNG", compress_level=0)
    data = buf.getvalue()
    assert len(data) > 9.5 * 2**20  # 10 MB each

    async def main():
        async with discord_bot(settings.with_(image_fetch_seconds=60.0)) as (fake, bot):
            atts = {f"image{i}": fake.attach(f"big{i}.png", data, 1830, 1830, delay=0.5) for i in range(1, 6)}
            cmd = fake.command("blend", "71", attachments=atts)
            started = time.monotonic()
            send(bot, cmd)
            await fake.wait_for(lambda: fake.interactions[cmd["token"]].acked)
            acked = fake.interactions[cmd["token"]].ack_after
            grid = await fake.wait_for(lambda: done_message(fake, cmd["token"]), timeout=300)
            return acked, time.monotonic() - started, grid, fake.violations

    acked, _, grid, violations = run(main())
    assert acked < 3.0 and "/blend of 5 images" in grid["content"] and violations == []


def test_show_and_buttons_of_anothers_job_are_refused_unless_admin(settings):
    from tests.bots.test_bot import discord_bot, done_message, ephemeral, send

    ADMINISTRATOR = 1 << 3

    async def main():
        async with discord_bot(settings) as (fake, bot):
            cmd = fake.command("imagine", "81", prompt="a red circle --q .25")
            send(bot, cmd)
            grid = await fake.wait_for(lambda: done_message(fake, cmd["token"]))
            job = fake.custom_ids(grid)[0].split(":")[2]
            show = fake.command("show", "82", permissions=0, job_id=job)
            click = fake.click(grid, f"lz:v:{job}:0", "82")
            admin = fake.command("show", "83", permissions=ADMINISTRATOR, job_id=job)
            for payload in (show, click, admin):
                send(bot, payload)
            refused = [await fake.wait_for(lambda p=p: ephemeral(fake, p["token"])) for p in (show, click)]
            shown = await fake.wait_for(lambda: done_message(fake, admin["token"]))
            return [r[0]["content"] for r in refused], shown, fake.violations

    refused, shown, violations = run(main())
    assert all("no job with id" in r for r in refused)
    assert shown["attachments"] and violations == []


def test_the_discord_fake_refuses_what_discords_published_schema_refuses():
    """The fake checks the bot's payloads against Discord's OpenAPI schemas (tests/fakes/discord_schemas.json) and
    the rules Discord states in prose, so it cannot accept what Discord would refuse."""
    from bots.app import command_payloads
    from tests.fakes.discord_api import SCHEMAS, command_problem

    ok_edit = {"content": "hi", "attachments": [{"id": "0", "filename": "a.png"}], "allowed_mentions": {"parse": []}}
    assert SCHEMAS.problems("webhook_edit", ok_edit) == []
    assert SCHEMAS.problems("webhook_edit", {**ok_edit, "attachments": [{"id": 0, "filename": "a.png"}]})
    assert SCHEMAS.problems("webhook_edit", {**ok_edit, "allowed_mentions": {"parse": ["everybody"]}})
    assert SCHEMAS.problems("callback", {"type": 4, "data": {"content": "x" * 2001}})
    assert SCHEMAS.problems("commands", command_payloads()) == []
    assert all(command_problem(c) is None for c in command_payloads())
    sub = {
        "name": "tune",
        "description": "d",
        "options": [
            {
                "type": 1,
                "name": "set",
                "description": "d",
                "options": [
                    {"type": 3, "name": "opt", "description": "d"},
                    {"type": 3, "name": "req", "description": "d", "required": True},
                ],
            }
        ],
    }
    assert SCHEMAS.problems("commands", [sub]) == []  # the schema cannot say it ...
    assert "comes after an optional one" in command_problem(sub)  # ... Discord's documentation does
    sub["options"][0]["options"][0]["name"] = "Bad Name"  # nested two levels down: still checked
    assert "option name 'Bad Name' is invalid" in command_problem(sub)
    assert SCHEMAS.problems("commands", [{**sub, "type": 9}])
