"""/imagine draft:true: a draft grid with E1-E4, whose click redraws one image at full quality."""

from tests.bots.test_bot import QUICK, discord_bot, done_message, send
from tests.conftest import run


def test_a_draft_grid_offers_enhance_and_e2_redraws_image_two(settings):
    async def main():
        async with discord_bot(settings) as (fake, bot):
            imagine = next(c for c in fake.commands if c["name"] == "imagine")
            assert {"name": "draft", "type": 5} in [{k: o[k] for k in ("name", "type")} for o in imagine["options"]]
            cmd = fake.command("imagine", "501", prompt="a red circle --seed 5", draft=True)
            send(bot, cmd)
            grid = await fake.wait_for(lambda: done_message(fake, cmd["token"]))
            ids = fake.custom_ids(grid)
            job = ids[0].split(":")[2]
            assert [i for i in ids if i.startswith("lz:e:")] == [f"lz:e:{job}:{i}" for i in range(4)]
            assert len(grid["components"]) == 4 and bot.hub.get_job(job).request["draft"]  # U, V + 🔄, E, 📋 ❌

            click = fake.click(grid, f"lz:e:{job}:1", "501")
            send(bot, click)
            enhanced = await fake.wait_for(lambda: done_message(fake, click["token"]))
            child = bot.hub.get_job(fake.custom_ids(enhanced)[0].split(":")[2])
            assert "Enhanced" in enhanced["content"] and child.kind == "enhance" and child.parent_id == job

            full = fake.command("imagine", "501", prompt="a red circle --seed 5" + QUICK)
            send(bot, full)
            plain = await fake.wait_for(lambda: done_message(fake, full["token"]))
            assert not [i for i in fake.custom_ids(plain) if i.startswith("lz:e:")]  # only drafts can be enhanced
            return fake.violations

    assert run(main()) == []
