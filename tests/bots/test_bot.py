"""The Discord bot against a local fake of Discord's HTTP API that enforces Discord's limits."""

import asyncio
import json
import subprocess
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import discord
import pytest

from tests.conftest import run
from tests.fakes.discord_api import Fake, command_problem, transcript

ROOT = Path(__file__).resolve().parents[2]
QUICK = " --q .25"  # a quarter of the steps: the bot's behaviour, not the pictures, is under test


@asynccontextmanager
async def discord_bot(settings, upload_limit=10 * 2**20, wrap=None, fake=None):
    from bots.app import LienzoBot
    from hub.service import Hub

    fake = fake or Fake(upload_limit=upload_limit)
    own_fake = not hasattr(fake, "runner")
    base, old = (await fake.start() if own_fake else None), discord.http.Route.BASE
    if base:
        fake.base = base
    discord.http.Route.BASE = fake.base
    hub = Hub.create(settings, recover=True)
    if wrap is not None:  # a test's stand-in around where batches run
        hub.jobs.placement = wrap(hub.jobs.placement)
    bot = LienzoBot(hub)
    try:
        await bot.login("fake-token")
        yield fake, bot
    finally:
        await bot.close()
        await hub.close()
        discord.http.Route.BASE = old
        if own_fake:
            await fake.stop()


def send(bot, payload):
    bot._connection.parse_interaction_create(payload)


def done_message(fake, token):
    it = fake.interactions[token]
    msg = it.original
    return msg if msg and any(c.startswith("lz:r:") or c.startswith("lz:s:") for c in fake.custom_ids(msg)) else None


def ephemeral(fake, token) -> list[dict]:
    """Messages only the user sees: an ephemeral reply (callback type 4) or an ephemeral follow-up."""
    out = []
    for method, path, body in fake.requests:
        if token in path and method == "POST":
            data = body.get("data") if path.endswith("/callback") else body
            if data and data.get("flags") == 64:
                out.append(data)
    return out


def test_print_commands_keeps_discords_limits():
    out = subprocess.run(
        [sys.executable, "-m", "hub.cli", "bot", "--print-commands"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    commands = json.loads(out.stdout)
    assert {c["name"] for c in commands} >= {
        "imagine",
        "blend",
        "describe",
        "shorten",
        "chat",
        "info",
        "show",
        "cancel",
        "help",
    }
    assert [command_problem(c) for c in commands] == [None] * len(commands)


def test_bot_without_a_token_exits_2_with_a_clear_message():
    out = subprocess.run(
        [sys.executable, "-m", "hub.cli", "bot"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )
    assert out.returncode == 2 and "DISCORD_TOKEN" in out.stderr


def test_imagine_end_to_end_then_u2_then_vary(settings, docs_dir):
    async def main():
        async with discord_bot(settings) as (fake, bot):
            assert {c["name"] for c in fake.commands} >= {"imagine", "blend"}  # synced on start
            cmd = fake.command("imagine", "501", prompt="a red circle --seed 5" + QUICK)
            send(bot, cmd)
            grid = await fake.wait_for(lambda: done_message(fake, cmd["token"]))
            it = fake.interactions[cmd["token"]]
            assert it.ack_type == 5 and it.ack_after < 3
            ids = fake.custom_ids(grid)
            job = ids[0].split(":")[2]
            assert ids == [f"lz:u:{job}:{i}" for i in range(4)] + [f"lz:v:{job}:{i}" for i in range(4)] + [
                f"lz:r:{job}",
                f"lz:i:{job}",
                f"lz:d:{job}",
            ]
            assert len(grid["components"]) == 3 and grid["attachments"][0]["filename"].endswith(".png")
            assert "seed 5" in grid["content"] and "<@501>" in grid["content"]

            click = fake.click(grid, f"lz:u:{job}:1", "501")
            send(bot, click)
            single = await fake.wait_for(lambda: done_message(fake, click["token"]))
            it = fake.interactions[click["token"]]  # deferred first: encoding a large image can outlast 3 s
            assert it.ack_type == 5 and it.ack_after < 3 and "Image #2" in single["content"]
            assert fake.custom_ids(single)[:5] == [
                f"lz:s:{job}:1",
                f"lz:t:{job}:1",
                f"lz:x:{job}:1",
                f"lz:g:{job}:1",
                f"lz:c:{job}:1",
            ]

            vary = fake.click(single, f"lz:t:{job}:1", "501")
            send(bot, vary)
            varied = await fake.wait_for(lambda: done_message(fake, vary["token"]))
            assert "Variations (strong)" in varied["content"] and fake.custom_ids(varied)[0].startswith("lz:u:")
            assert bot.hub.get_job(fake.custom_ids(varied)[0].split(":")[2]).parent_id == job
            bad = fake.command("imagine", "501", prompt="a cat --ar 16x9")
            send(bot, bad)
            await fake.wait_for(lambda: ephemeral(fake, bad["token"]))
            (docs_dir / "bot-transcript.md").write_text(
                "# A conversation with the bot (recorded from the local fake Discord)\n\n"
                "Progress edits are throttled to one every 1.5 s; the pictures come from the bundled model.\n\n"
                + transcript(
                    fake,
                    [
                        (f"used `/imagine prompt: {cmd['data']['options'][0]['value']}`", cmd),
                        ("clicked `U2`", click),
                        ("clicked `Vary (Strong)`", vary),
                        ("used `/imagine prompt: a cat --ar 16x9`", bad),
                    ],
                ),
                encoding="utf-8",
            )
            return fake.violations

    assert run(main()) == []


def test_buttons_work_after_the_bot_restarts(settings):
    async def main():
        fake = Fake()
        fake.base = await fake.start()
        try:
            async with discord_bot(settings, fake=fake) as (_, bot):
                cmd = fake.command("imagine", "77", prompt="a blue square" + QUICK)
                send(bot, cmd)
                grid = await fake.wait_for(lambda: done_message(fake, cmd["token"]))
                job = fake.custom_ids(grid)[0].split(":")[2]
                first = fake.click(grid, f"lz:u:{job}:0", "77")
                send(bot, first)
                upscaled = await fake.wait_for(lambda: done_message(fake, first["token"]))
                custom = fake.click(upscaled, f"lz:k:{job}:0", "77")  # a Custom Zoom's modal, opened before ...
                send(bot, custom)
                modal = await fake.wait_for(lambda: fake.interactions[custom["token"]].modal)
            # a new process: new Hub, new bot, same data directory; nothing carried in memory
            async with discord_bot(settings, fake=fake) as (_, bot2):
                click = fake.click(grid, f"lz:u:{job}:3", "77")
                send(bot2, click)
                single = await fake.wait_for(lambda: done_message(fake, click["token"]))
                pan = fake.click(single, f"lz:p:{job}:3:u", "77")
                send(bot2, pan)
                panned = await fake.wait_for(lambda: single_done(fake, pan["token"]))
                submitted = fake.submit(modal, {"factor": "2", "prompt": ""}, "77")  # ... and submitted after it
                send(bot2, submitted)
                zoomed = await fake.wait_for(lambda: single_done(fake, submitted["token"]))
                return single, panned, zoomed, fake.violations
        finally:
            await fake.stop()

    single, panned, zoomed, violations = run(main())
    assert "Image #4" in single["content"] and violations == []
    assert "Pan (up)" in panned["content"] and "Zoom Out (2x)" in zoomed["content"]


def test_jobs_interrupted_by_a_restart_are_delivered_to_their_messages_after_it(settings):
    """The server stops while one job runs and another waits; the next server runs both and edits their messages:
    the original response while the interaction's token lives, a channel message once it has expired."""
    from bots import limits

    async def main():
        fake = Fake()
        fake.base = await fake.start()
        try:
            async with discord_bot(settings, fake=fake) as (_, bot):
                running = fake.command("imagine", "31", prompt="a slow circle --q 2")  # 100 decoder steps
                late = fake.command(
                    "imagine", "32", prompt="a calm square" + QUICK, age=limits.TOKEN_SECONDS - limits.TOKEN_MARGIN + 5
                )
                send(bot, running)
                send(bot, late)
                await fake.wait_for(lambda: len(bot.hub.list_jobs()) == 2 and bot.hub.scheduler.running == 1)
                ids = {j.user: j.id for j in bot.hub.list_jobs()}
            # the server stopped mid-job; a new process on the same data directory takes the jobs over
            async with discord_bot(settings, fake=fake) as (_, bot2):
                assert set(bot2.hub.recovered) == set(ids.values())
                delivered = await fake.wait_for(lambda: done_message(fake, running["token"]), timeout=100)
                posted = await fake.wait_for(
                    lambda: [
                        m
                        for m in fake.messages.values()
                        if m["channel_id"] == "900" and f"lz:r:{ids['discord:32']}" in fake.custom_ids(m)
                    ]
                )
                rows = {j.id: j for j in bot2.hub.list_jobs()}
                return delivered, posted, rows, ids, fake.violations
        finally:
            await fake.stop()

    delivered, posted, rows, ids, violations = run(main())
    assert ids["discord:31"] in " ".join(fake_ids(delivered)) and delivered["attachments"]
    assert posted[0]["attachments"] and {r.status for r in rows.values()} == {"done"}
    assert rows[ids["discord:31"]].attempts == 1  # stopped by a shutdown, not a crash: the attempt did not count
    assert violations == []


def fake_ids(msg):
    return [c["custom_id"] for row in msg.get("components", []) for c in row.get("components", []) if "custom_id" in c]


def test_a_prompt_with_everyone_and_role_mentions_pings_nobody(settings):
    """Every message that carries the prompt (progress, result, U1, a channel fallback) leaves its mentions inert."""

    async def main():
        async with discord_bot(settings) as (fake, bot):
            prompt = "@everyone <@&123456789012345678> @here <@42> a red circle" + QUICK
            cmd = fake.command("imagine", "51", prompt=prompt)
            late = fake.command("imagine", "52", prompt=prompt, age=14.5 * 60)  # its result goes to the channel
            send(bot, cmd)
            send(bot, late)
            grid = await fake.wait_for(lambda: done_message(fake, cmd["token"]))
            await fake.wait_for(
                lambda: [
                    m
                    for m in fake.messages.values()
                    if m["channel_id"] == "900"
                    and any(c.startswith("lz:r:") for c in fake.custom_ids(m))
                    and m is not grid
                ]
            )
            job = fake.custom_ids(grid)[0].split(":")[2]
            click = fake.click(grid, f"lz:u:{job}:1", "51")
            send(bot, click)
            await fake.wait_for(lambda: done_message(fake, click["token"]))
            carrying = [body for _, _, body in fake.requests if "everyone" in str(body)]  # shown escaped
            return carrying, fake.violations

    carrying, violations = run(main())
    assert len(carrying) >= 4 and violations == []  # the fake records a violation for any message that would ping


def test_a_server_manager_can_cancel_anothers_job_and_a_member_cannot(settings):
    MANAGE_GUILD, ADMINISTRATOR = 1 << 5, 1 << 3

    async def main():
        async with discord_bot(settings) as (fake, bot):
            for n, perms in enumerate((0, MANAGE_GUILD, ADMINISTRATOR)):
                cmd = fake.command("imagine", "61", prompt=f"a slow circle {n} --q 2", permissions=0)
                send(bot, cmd)
                running = await fake.wait_for(lambda: [j for j in bot.hub.list_jobs() if j.status == "running"])
                job = running[0]
                stop = fake.command("cancel", f"6{n + 2}", permissions=perms, job_id=job.id)
                send(bot, stop)
                answer = await fake.wait_for(lambda: ephemeral(fake, stop["token"]))
                if perms == 0:  # refused: let the job finish before the next round
                    await fake.wait_for(lambda: bot.hub.get_job(job.id).status == "done")
                else:
                    await fake.wait_for(lambda: bot.hub.get_job(job.id).status == "cancelled")
                answers.append(answer[0]["content"])
            return fake.violations

    answers: list[str] = []
    violations = run(main())
    assert "no job with id" in answers[0] and answers[1:] == ["cancelled", "cancelled"]  # private: as if none
    assert violations == []


@pytest.mark.timeout(300)  # 60 jobs: 76 s quiet, 109 s beside a busy process (session 32)
def test_twenty_users_three_jobs_each_fair_and_acknowledged_in_time(settings):
    import threading

    busy = threading.Event()  # the device is busy with a first job until every request is queued

    class Held:
        def __init__(self, inner):
            self.inner, self.slots = inner, inner.slots

        def run(self, items, emit, should_stop, context=None):
            assert busy.wait(120)
            served.extend(item.job_id for item in items)  # the order the device was given them, batch by batch
            return self.inner.run(items, emit, should_stop, context)

    served: list[str] = []

    async def main():
        async with discord_bot(settings.with_(max_queue=64, user_max_jobs=3), wrap=Held) as (fake, bot):
            tokens = []
            for u in range(20):  # each user sends their three at once: first come, first served would fail
                for round_ in range(3):
                    cmd = fake.command("imagine", str(1000 + u), prompt=f"a star {round_}{QUICK} --seed {u}")
                    send(bot, cmd)
                    tokens.append(cmd["token"])
            sched = bot.hub.scheduler
            await fake.wait_for(lambda: sched.waiting + len(sched._running) == 60)
            busy.set()
            await fake.wait_for(lambda: all(done_message(fake, t) for t in tokens), timeout=240)
            return fake, tokens, [bot.hub.get_job(job_id).user for job_id in served]

    # Finish times cannot tell: a batch's jobs are stored one after another, so in a batch that holds one user's
    # last first job and another's second, the second may be stored a millisecond sooner. What the device was
    # handed, in order, can.
    fake, tokens, users = run(main())
    assert fake.violations == []
    assert all(fake.interactions[t].ack_after < 3 for t in tokens)
    assert len(users) == 60
    assert len(set(users[:20])) == 20  # round-robin: everyone's first job before anyone's second


def test_a_job_that_fails_tells_the_user_and_the_next_job_runs(settings):
    class MaybeFail:
        def __init__(self, inner):
            self.inner, self.slots = inner, inner.slots

        def run(self, items, emit, should_stop, context=None):
            if any("explode" in p[0] for item in items for p in item.task.parts):
                raise RuntimeError("CUDA error: an illegal memory access was encountered")
            return self.inner.run(items, emit, should_stop, context)

    async def main():
        async with discord_bot(settings, wrap=MaybeFail) as (fake, bot):
            bad = fake.command("imagine", "11", prompt="explode please" + QUICK)
            good = fake.command("imagine", "12", prompt="a calm circle" + QUICK)
            send(bot, bad)
            send(bot, good)
            await fake.wait_for(lambda: done_message(fake, good["token"]))
            told = await fake.wait_for(lambda: ephemeral(fake, bad["token"]))
            return fake, told

    fake, told = run(main())
    assert "the model failed on this job (CUDA error: an illegal memory access" in told[0]["content"]
    assert "failed" in fake.interactions[bad_token(fake)].original["content"]
    assert fake.violations == []


def bad_token(fake):
    return next(t for t, it in fake.interactions.items() if it.original and "explode" in it.original["content"])


def test_oversized_output_is_re_encoded_under_the_upload_limit(settings):
    async def main():
        async with discord_bot(settings, upload_limit=6000) as (fake, bot):
            cmd = fake.command("imagine", "9", prompt="noise --ar 2:1" + QUICK)
            send(bot, cmd)
            return fake, await fake.wait_for(lambda: done_message(fake, cmd["token"]))

    fake, grid = run(main())
    attachment = grid["attachments"][0]
    assert attachment["size"] <= 6000 and attachment["filename"].rsplit(".", 1)[1] in ("webp", "jpg")
    assert fake.violations == []


def test_disallowed_image_url_is_refused_ephemerally(settings):
    async def main():
        async with discord_bot(settings) as (fake, bot):
            cmd = fake.command("imagine", "5", prompt="https://169.254.169.254/latest/meta-data a cat")
            send(bot, cmd)
            return await fake.wait_for(lambda: ephemeral(fake, cmd["token"]))

    told = run(main())
    assert "not allowed" in told[0]["content"] and "169.254.169.254" in told[0]["content"]


def test_a_spanish_discord_user_is_refused_in_spanish(settings):
    """The interaction's locale (the user's Discord language) picks the language of the refusal."""

    async def main():
        async with discord_bot(settings) as (fake, bot):
            answers = []
            for locale in ("es-ES", "en-US"):
                cmd = fake.command("imagine", "5", prompt="a cat --ar 16x9", locale=locale)
                send(bot, cmd)
                answers.append((await fake.wait_for(lambda cmd=cmd: ephemeral(fake, cmd["token"])))[0]["content"])
            return answers

    spanish, english = run(main())
    assert "--ar “16x9” no es válido: ancho:alto en números enteros" in spanish
    assert "--ar “16x9” is not valid: width:height as whole numbers" in english


def test_a_job_outliving_the_token_is_posted_as_a_channel_message(settings):
    async def main():
        async with discord_bot(settings) as (fake, bot):
            cmd = fake.command("imagine", "8", prompt="a late circle" + QUICK, age=14.5 * 60)
            send(bot, cmd)
            posted = await fake.wait_for(
                lambda: [m for m in fake.messages.values() if any(c.startswith("lz:r:") for c in fake.custom_ids(m))]
            )
            return fake, posted

    fake, posted = run(main())
    assert posted[0]["channel_id"] == "900" and fake.violations == []


def test_describe_then_imagine_this(settings, tmp_path):
    from PIL import Image

    async def main():
        async with discord_bot(settings) as (fake, bot):
            png = tmp_path / "in.png"
            Image.new("RGB", (64, 64), "red").save(png)
            att = fake.attach("in.png", png.read_bytes(), 64, 64)
            cmd = fake.command("describe", "3", attachments={"image": att})
            send(bot, cmd)
            msg = await fake.wait_for(lambda: (fake.interactions[cmd["token"]].original or {}).get("components"))
            msg = fake.interactions[cmd["token"]].original
            click = fake.click(msg, "lz:d:2", "3")
            send(bot, click)
            grid = await fake.wait_for(lambda: done_message(fake, click["token"]))
            return msg, grid, fake.violations

    msg, grid, violations = run(main())
    second = msg["content"].splitlines()[1][3:]
    assert msg["content"].startswith("1. ") and second in grid["content"] and violations == []


def test_web_and_bot_in_one_process_share_one_queue(settings):
    """lienzo serve --bot: a web user and a Discord user are served by the same Hub and scheduler."""
    from gradio_client import Client

    from tests.conftest import free_port
    from hub.cli import serve_with_bot
    from hub.service import Hub

    async def main():
        fake = Fake()
        fake.base = await fake.start()
        old, discord.http.Route.BASE = discord.http.Route.BASE, fake.base
        hub = Hub.create(settings)
        port = free_port()
        started = asyncio.Event()
        holder = {}

        def ready(bot, server):
            holder.update(bot=bot, server=server)
            started.set()

        task = asyncio.create_task(serve_with_bot(hub, "fake-token", port=port, ready=ready, gateway=False))
        try:
            await asyncio.wait_for(started.wait(), 60)
            bot = holder["bot"]
            await fake.wait_for(lambda: fake.commands)  # synced; and `ready` came after the web server listened
            cmd = fake.command("imagine", "61", prompt="a discord circle" + QUICK)
            send(bot, cmd)
            client = await asyncio.to_thread(Client, f"http://127.0.0.1:{port}/", verbose=False)
            web = await asyncio.to_thread(
                client.predict,
                "a web square --seed 1",
                "",
                "mini",
                "1:1",
                4,
                4,
                4.0,
                1,
                False,
                1,
                "default",
                api_name="/imagine",
            )
            await fake.wait_for(lambda: done_message(fake, cmd["token"]))
            users = {j.user.split(":")[0] for j in hub.list_jobs(limit=10)}
            return web, users, fake.violations
        finally:
            if "server" in holder:
                holder["server"].should_exit = True
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await hub.close()
            discord.http.Route.BASE = old
            await fake.stop()

    web, users, violations = run(main())
    assert users == {"web", "discord"} and len(web[0]) == 1 and violations == []


def test_preferences_shape_later_prompts_and_blocked_words_are_refused(settings):
    def raw(fake, name, user, options):
        cmd = next(c for c in fake.commands if c["name"] == name)
        return fake.interaction(2, {"id": cmd["id"], "name": name, "type": 1, "options": options}, user)

    async def main():
        async with discord_bot(settings.with_(blocked_words=("gore",))) as (fake, bot):
            steps = [
                raw(
                    fake,
                    "prefer",
                    "31",
                    [
                        {
                            "name": "option",
                            "type": 2,
                            "options": [
                                {
                                    "name": "set",
                                    "type": 1,
                                    "options": [
                                        {"name": "name", "type": 3, "value": "night"},
                                        {"name": "value", "type": 3, "value": "on a black background"},
                                    ],
                                }
                            ],
                        }
                    ],
                ),
                raw(
                    fake,
                    "prefer",
                    "31",
                    [{"name": "suffix", "type": 1, "options": [{"name": "text", "type": 3, "value": "--q .25"}]}],
                ),
                raw(fake, "settings", "31", [{"name": "aspect", "type": 3, "value": "16:9"}]),
            ]
            for step in steps:
                send(bot, step)
                await fake.wait_for(lambda s=step: fake.interactions[s["token"]].acked)
            cmd = fake.command("imagine", "31", prompt="a white star --night")
            send(bot, cmd)
            grid = await fake.wait_for(lambda: done_message(fake, cmd["token"]))
            job = bot.hub.get_job(fake.custom_ids(grid)[0].split(":")[2])
            refused = fake.command("imagine", "31", prompt="lots of gore")
            send(bot, refused)
            told = await fake.wait_for(lambda: ephemeral(fake, refused["token"]))
            return job, told, fake.violations

    job, told, violations = run(main())
    assert job.request["prompt"] == "a white star on a black background --q .25 --ar 16:9"
    assert job.width > job.height and job.request["num_inference_steps"] == 6
    assert "the word “gore” is not allowed" in told[0]["content"] and violations == []


def test_blend_shorten_chat_info_help_and_a_429_is_honoured(settings, tmp_path):
    from PIL import Image

    def attachment(fake, name, colour):
        path = tmp_path / name
        Image.new("RGB", (64, 64), colour).save(path)
        return fake.attach(name, path.read_bytes(), 64, 64)

    async def main():
        async with discord_bot(settings) as (fake, bot):
            red_att, blue_att = attachment(fake, "red.png", "red"), attachment(fake, "blue.png", "blue")
            fake.rate_limit_next = 1  # the first edit of the blend is answered with 429
            blend = fake.command("blend", "21", attachments={"image1": red_att, "image2": blue_att}, weights="3,1")
            send(bot, blend)
            grid = await fake.wait_for(lambda: done_message(fake, blend["token"]))
            shorten = fake.command("shorten", "21", prompt="a very small red circle above a big blue square " * 5)
            chat = fake.command("chat", "21", message="¿Qué es el colapso de modos?")
            info = fake.command("info", "21")
            helped = fake.command("help", "21")
            for cmd in (shorten, chat, info, helped):
                send(bot, cmd)
            await fake.wait_for(
                lambda: all(
                    (fake.interactions[c["token"]].original or {}).get("content") for c in (shorten, chat, info, helped)
                )
            )
            out = {
                name: fake.interactions[c["token"]].original["content"]
                for name, c in (("shorten", shorten), ("chat", chat), ("info", info), ("help", helped))
            }
            return grid, out, fake.rate_limited, fake.violations

    grid, out, rate_limited, violations = run(main())
    assert "/blend of 2 images (3, 1)" in grid["content"] and rate_limited == 1
    assert out["shorten"].startswith("**Shortened:**") and "Cut by the text encoder" in out["shorten"]
    assert out["chat"].startswith("De los apuntes") and "Cuándo falla" in out["chat"]
    assert "Queued or running:** 0" in out["info"] and "/imagine" in out["help"]
    assert [v for v in violations if not v.startswith("429")] == []


def test_failures_are_answered_in_one_place_ephemerally_and_bugs_are_logged_not_shown(settings, caplog):
    """bots/errors.py: a command's and a button's LienzoError become the user's own ephemeral message, a bug
    becomes an apology (its text only in the log), and a deferred command's "thinking…" placeholder goes."""

    async def main():
        async with discord_bot(settings) as (fake, bot):
            grid_cmd = fake.command("imagine", "31", prompt="a red circle" + QUICK)
            send(bot, grid_cmd)
            grid = await fake.wait_for(lambda: done_message(fake, grid_cmd["token"]))
            job = fake.custom_ids(grid)[0].split(":")[2]
            other = fake.click(grid, f"lz:v:{job}:0", "32")  # someone else's private job: a LienzoError
            send(bot, other)
            refused = await fake.wait_for(lambda: ephemeral(fake, other["token"]))

            def broken(*args, **kwargs):
                raise RuntimeError("disk /srv/secret/jobs.db is locked")

            bot.hub.list_jobs = broken  # a bug in a command answered before any deferral
            info = fake.command("info", "31")
            send(bot, info)
            sorry = await fake.wait_for(lambda: ephemeral(fake, info["token"]))
            bot.hub.get_job = broken  # a bug in a button
            click = fake.click(grid, f"lz:u:{job}:1", "31")
            send(bot, click)
            sorry_button = await fake.wait_for(lambda: ephemeral(fake, click["token"]))
            bot.hub.shorten = broken_async  # a bug after the command deferred
            shorten = fake.command("shorten", "31", prompt="a red circle")
            send(bot, shorten)
            sorry_deferred = await fake.wait_for(lambda: ephemeral(fake, shorten["token"]))
            return fake, refused, sorry, sorry_button, sorry_deferred, shorten

    async def broken_async(*args, **kwargs):
        raise RuntimeError("disk /srv/secret/jobs.db is locked")

    with caplog.at_level("ERROR", logger="bots.errors"):
        fake, refused, sorry, sorry_button, sorry_deferred, shorten = run(main())
    assert refused[0]["content"].startswith("⚠️ no job with id")
    for answer in (sorry, sorry_button, sorry_deferred):
        assert answer[0]["content"] == "⚠️ something went wrong on our side; the error was logged"
    assert fake.interactions[shorten["token"]].original is None  # the placeholder was deleted
    logged = [r for r in caplog.records if r.name == "bots.errors"]
    assert len(logged) == 3 and all("secret" in str(r.exc_info[1]) for r in logged)
    assert {r.getMessage() for r in logged} == {
        "/info failed",
        "/shorten failed",
        f"button lz:u:{job_of(fake)}:1 failed",
    }
    assert fake.violations == []


def job_of(fake):
    return next(c.split(":")[2] for m in fake.messages.values() for c in fake.custom_ids(m) if c.startswith("lz:r:"))


def single_done(fake, token):
    """An upscaled image's message (Vary (Subtle) among its buttons) or a grid's (🔄) once a job is done."""
    msg = fake.interactions[token].original
    ids = fake.custom_ids(msg) if msg else []
    return msg if any(c.startswith(("lz:r:", "lz:s:")) for c in ids) else None


def test_editing_buttons_region_zoom_pan_remix_settings_and_cancel(settings, docs_dir):
    """On an upscaled image: Vary (Region) by a menu and a modal, Zoom Out 2x and Custom (a modal), Pan, 📋, ❌;
    Remix as a setting; every payload checked against Discord's published schemas by the fake."""

    async def main():
        async with discord_bot(settings) as (fake, bot):
            cmd = fake.command("imagine", "701", prompt="a red circle above a blue square --seed 4" + QUICK)
            send(bot, cmd)
            grid = await fake.wait_for(lambda: done_message(fake, cmd["token"]))
            job = fake.custom_ids(grid)[0].split(":")[2]
            click = fake.click(grid, f"lz:u:{job}:0", "701")
            send(bot, click)
            single = await fake.wait_for(lambda: done_message(fake, click["token"]))
            ids = fake.custom_ids(single)
            assert len(single["components"]) == 5 and all(len(r["components"]) <= 5 for r in single["components"])
            assert {f"lz:g:{job}:0", f"lz:z:{job}:0:20", f"lz:z:{job}:0:15", f"lz:k:{job}:0"} <= set(ids)
            assert {f"lz:p:{job}:0:{d}" for d in "lrud"} | {f"lz:i:{job}", f"lz:d:{job}"} <= set(ids)

            async def press(custom_id, user="701", on=single):
                event = fake.click(on, custom_id, user)
                send(bot, event)
                return event

            # Vary (Region): the areas in a menu only the user sees, then the prompt in a modal
            offer = await press(f"lz:g:{job}:0")
            [menu] = await fake.wait_for(lambda: ephemeral(fake, offer["token"]))
            options = [o["value"] for o in menu["components"][0]["components"][0]["options"]]
            assert options[:9] == ["left", "right", "top", "bottom", "centre", "top-left", "top-right"] + [
                "bottom-left",
                "bottom-right",
            ]
            pick = fake.select({**single, "components": menu["components"]}, f"lz:a:{job}:0", ["top-left"], "701")
            send(bot, pick)
            modal = await fake.wait_for(lambda: fake.interactions[pick["token"]].modal)
            assert modal["custom_id"] == f"lz:m:r:{job}:0:top-left"
            submitted = fake.submit(modal, {"prompt": "a yellow star"}, "701")
            send(bot, submitted)
            region = await fake.wait_for(lambda: single_done(fake, submitted["token"]))
            assert "Vary (Region)" in region["content"] and "a yellow star" in region["content"]

            zoom = await press(f"lz:z:{job}:0:20")
            zoomed = await fake.wait_for(lambda: single_done(fake, zoom["token"]))
            pan = await press(f"lz:p:{job}:0:r")
            panned = await fake.wait_for(lambda: single_done(fake, pan["token"]))
            custom = await press(f"lz:k:{job}:0")
            modal = await fake.wait_for(lambda: fake.interactions[custom["token"]].modal)
            too_far = fake.submit(modal, {"factor": "3", "prompt": ""}, "701")
            send(bot, too_far)
            [refused] = await fake.wait_for(lambda: ephemeral(fake, too_far["token"]))
            comma = fake.submit(modal, {"factor": "1,5", "prompt": ""}, "701")
            send(bot, comma)
            custom_zoom = await fake.wait_for(lambda: single_done(fake, comma["token"]))

            info = await press(f"lz:i:{job}")
            [settings_text] = await fake.wait_for(lambda: ephemeral(fake, info["token"]))
            stranger = await press(f"lz:d:{job}", user="702")
            [not_yours] = await fake.wait_for(lambda: ephemeral(fake, stranger["token"]))
            other_region = await press(f"lz:g:{job}:0", user="702")
            [hidden] = await fake.wait_for(lambda: ephemeral(fake, other_region["token"]))

            # Remix on: V1 asks for the prompt first
            prefs = fake.command("settings", "701", remix=True)
            send(bot, prefs)
            await fake.wait_for(lambda: ephemeral(fake, prefs["token"]))
            v1 = await press(f"lz:v:{job}:0", on=grid)
            modal = await fake.wait_for(lambda: fake.interactions[v1["token"]].modal)
            remixed = fake.submit(modal, {"prompt": "a green star above a blue square"}, "701")
            send(bot, remixed)
            remix = await fake.wait_for(lambda: single_done(fake, remixed["token"]))

            # ❌ by the owner on a finished message: it goes
            gone = await press(f"lz:d:{job}")
            await fake.wait_for(lambda: single["id"] not in fake.messages)
            jobs = {j.kind: j for j in bot.hub.list_jobs(limit=50)}
            (docs_dir / "bot-transcript-edits.md").write_text(
                "# Editing with the bot (recorded from the local fake Discord)\n\n"
                "Vary (Region) through a menu and a modal, Zoom Out, Pan, a custom zoom refused then done, 📋, ❌, "
                "and Remix. Pictures of the same actions: README's editing strip.\n\n"
                + transcript(
                    fake,
                    [
                        ("clicked `U1`", click),
                        ("clicked `Vary (Region)`", offer),
                        ("chose *top-left quarter*", pick),
                        ("typed the prompt *a yellow star* and sent it", submitted),
                        ("clicked `Zoom Out 2x`", zoom),
                        ("clicked `➡️`", pan),
                        ("typed the zoom factor *3*", too_far),
                        ("typed the zoom factor *1,5*", comma),
                        ("clicked `📋`", info),
                        ("(another user) clicked `❌`", stranger),
                        ("turned Remix on with `/settings remix: True`", prefs),
                        ("clicked `V1` and edited the prompt in the modal", remixed),
                        ("clicked `❌` on the upscaled image", gone),
                    ],
                ),
                encoding="utf-8",
            )
            return locals()

    r = run(main())
    fake, jobs = r["fake"], r["jobs"]
    assert fake.violations == []
    assert jobs["region"].request["area"] == "top-left" and jobs["region"].parent_id == r["job"]
    assert jobs["zoom"].request["zoom"] in (2.0, 1.5) and jobs["pan"].width == 96
    assert "Zoom Out (2x)" in r["zoomed"]["content"] and "Pan (right)" in r["panned"]["content"]
    assert "1.05 to 2" in r["refused"]["content"] and "Zoom Out (1.5x)" in r["custom_zoom"]["content"]
    assert r["settings_text"]["content"].count("**Image ") == 4 and "· seed 5 ·" in r["settings_text"]["content"]
    assert "only the person who made this job" in r["not_yours"]["content"]
    assert "no job with id" in r["hidden"]["content"]
    assert r["modal"]["custom_id"] == f"lz:m:v:{r['job']}:0:t" and "remix" in r["remix"]["content"]
    assert jobs["vary"].request.get("remix") and jobs["vary"].request["prompt"] == "a green star above a blue square"
