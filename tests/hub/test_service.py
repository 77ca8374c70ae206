"""The Hub facade end to end on the bundled mini model: real store, scheduler, engine, PNGs."""

import asyncio
import io

import pytest
from PIL import Image

from tests.conftest import with_hub
from hub.errors import (
    Forbidden,
    ImageError,
    InvalidRequest,
    JobNotFound,
    ModelUnavailable,
    PromptError,
    QueueFull,
    UserLimit,
)
from hub.pnginfo import read_parameters
from hub.store import Store
from hub.types import (
    DescribeRequest,
    ImagineRequest,
    MixItem,
    MixRequest,
    Origin,
    ShortenRequest,
    UpscaleRequest,
    VaryRequest,
)


def fast(prompt="a red circle", **kw):
    return ImagineRequest(prompt, num_inference_steps=4, prior_num_inference_steps=4, **kw)


def test_imagine_stores_pngs_with_parameters_before_reporting_done(settings):
    async def body(hub):
        job = await hub.imagine(fast("un círculo rojo --ar 2:1 --seed 7 --no azul", preview=True))
        stages, previews = [], []
        async for event in job.events():
            stages.append(event.stage)
            previews += [event.preview] if event.preview else []
            if event.stage == "done":
                assert hub.get_job(job.job_id).status == "done"
        assert previews and previews[0].size == (96, 48)
        return await job.result(), stages

    result, stages = with_hub(settings, body)
    assert stages[0] == "queued" and "prior" in stages and "decoder" in stages and stages[-1] == "done"
    assert result.seeds == (7, 8, 9, 10) and (result.width, result.height) == (96, 48)
    assert result.grid is not None and Image.open(result.grid).size == (192, 96)
    params = read_parameters(result.images[2].read_bytes())
    assert params.prompt.startswith("un círculo rojo") and params.negative_prompt == "azul"
    assert params.get("Seed") == "9" and params.get("Size") == "96x48" and params.get("Model") == "mini"
    assert result.notes == ()


def test_without_bundled_weights_mini_is_an_untrained_stand_in_that_says_so(settings, tmp_path, monkeypatch):
    from hub import catalog

    monkeypatch.setattr(catalog, "BUNDLED_ROOT", tmp_path / "no-weights")

    async def body(hub):
        assert hub.loader.availability(catalog.get("mini")).status == "placeholder"
        return await (await hub.imagine(fast("a red circle --seed 1"))).result()

    result = with_hub(settings, body)
    assert result.notes and "untrained placeholder" in result.notes[0]
    assert "placeholder" in read_parameters(result.images[0].read_bytes()).get("Model")


def test_four_users_at_once_are_batched_and_match_solo(settings):
    async def body(hub):
        solo = await (await hub.imagine(fast("a blue star --seed 3", num_images=1))).result()
        jobs = [
            await hub.imagine(fast(f"a blue star --seed {3 + i}", num_images=1, origin=Origin(f"u{i}")))
            for i in range(4)
        ]
        results = await asyncio.gather(*[j.result() for j in jobs])
        return solo, results

    solo, results = with_hub(settings, body)
    import numpy as np

    a, b = (np.asarray(Image.open(r.images[0]), int) for r in (solo, results[0]))
    assert np.abs(a - b).max() <= 1  # batched matmuls may round the last bit differently
    assert [r.seeds for r in results] == [(3,), (4,), (5,), (6,)]


def test_mix_vary_upscale_describe_shorten(settings):
    async def body(hub):
        first = await (await hub.imagine(fast(seed=1))).result()
        mixed = await (
            await hub.mix(
                MixRequest(
                    items=(MixItem(text="a red circle", weight=2), MixItem(image=str(first.images[0]), weight=2)),
                    num_inference_steps=4,
                    prior_num_inference_steps=4,
                )
            )
        ).result()
        vary = await (await hub.vary(VaryRequest(first.job_id, 1, "subtle", num_images=2))).result()
        up = await (await hub.upscale(UpscaleRequest(first.job_id, 0))).result()
        described = await hub.describe(DescribeRequest(first.images[0]))
        short = await hub.shorten(ShortenRequest("a small red circle above a large blue square " * 6))
        return first, mixed, vary, up, described, short, hub.get_job(vary.job_id)

    first, mixed, vary, up, described, short, record = with_hub(settings, body)
    assert "a red circle::0.5" in mixed.prompt  # weights actually used, normalised
    assert len(vary.images) == 2 and record.parent_id == first.job_id and record.parent_index == 1
    assert (up.width, up.height) == (128, 128) and up.grid is None
    assert len(described.prompts) == 4 and described.scores == tuple(sorted(described.scores, reverse=True))
    assert short.token_count > short.token_limit and short.cut and not all(w.kept for w in short.words)
    assert abs(sum(w.weight for w in short.words) - 1) < 1e-3


@pytest.mark.parametrize(
    "request_, error, needle",
    [
        (ImagineRequest("   "), PromptError, "empty"),
        (ImagineRequest("cat --ar 9:1"), PromptError, "--ar"),
        (ImagineRequest("cat", width=4000), InvalidRequest, "width 4000 is out of range for mini: 16 to 256"),
        (ImagineRequest("cat", num_images=9), InvalidRequest, "num_images 9"),
        (ImagineRequest("cat", num_inference_steps=0), InvalidRequest, "num_inference_steps 0"),
        (ImagineRequest("cat", guidance_scale=-1), InvalidRequest, "guidance_scale -1"),
        (ImagineRequest("cat", model="sdxl-turbo"), ModelUnavailable, "sdxl-turbo' cannot run here: needs a download"),
        (ImagineRequest("cat", model="dall-e"), ModelUnavailable, "unknown model"),
        (ImagineRequest("cat", images=(b"not an image",)), ImageError, "not a readable image"),
        (ImagineRequest("cat", images=(b"",)), ImageError, "empty"),
        (ImagineRequest("https://evil.example/x.png cat"), ImageError, "not allowed"),
        (ImagineRequest("http://cdn.discordapp.com/x.png cat"), ImageError, "https"),
    ],
)
def test_bad_input_is_a_clear_error_and_stores_nothing(settings, request_, error, needle):
    async def body(hub):
        with pytest.raises(error, match=needle.replace("(", "\\(")):
            await hub.imagine(request_)
        return hub.list_jobs()

    assert with_hub(settings, body) == []


def test_huge_images_are_refused_before_decoding(settings):
    buf = io.BytesIO()
    Image.new("1", (5000, 5000)).save(buf, format="PNG")  # ~25 MP, a few KB on disk

    async def body(hub):
        with pytest.raises(ImageError, match="5000x5000 pixels"):
            await hub.mix(MixRequest(items=(MixItem(image=buf.getvalue()),)))

    with_hub(settings, body)


def test_bad_mix_and_vary_requests(settings):
    async def body(hub):
        with pytest.raises(InvalidRequest, match="1 to 5"):
            await hub.mix(MixRequest(items=tuple(MixItem(text="x") for _ in range(6))))
        with pytest.raises(InvalidRequest, match="add up to more than 0"):
            await hub.mix(MixRequest(items=(MixItem(text="a", weight=-1), MixItem(text="b", weight=0.5))))
        with pytest.raises(InvalidRequest, match="not both or neither"):
            await hub.mix(MixRequest(items=(MixItem(),)))
        with pytest.raises(Exception, match="no job with id"):
            await hub.vary(VaryRequest("nope", 0))

    with_hub(settings, body)


def test_full_queue_and_user_cap_leave_the_hub_healthy(settings):
    async def body(hub):
        hub.scheduler.max_queue, hub.scheduler.user_max_jobs = 3, 2
        jobs = [await hub.imagine(fast(origin=Origin("ana"))), await hub.imagine(fast(origin=Origin("ana")))]
        with pytest.raises(UserLimit, match="you have 2 jobs"):
            await hub.imagine(fast(origin=Origin("ana")))
        jobs.append(await hub.imagine(fast(origin=Origin("bo"))))
        with pytest.raises(QueueFull, match="queue is full"):
            await hub.imagine(fast(origin=Origin("cy")))
        done = await asyncio.gather(*[j.result() for j in jobs])
        return done, hub.list_jobs()

    done, rows = with_hub(settings, body)
    assert len(done) == 3 and len(rows) == 3 and all(r.status == "done" for r in rows)


def test_an_engine_error_mid_job_fails_that_job_only(settings):
    async def body(hub):
        bad = await hub.imagine(fast(scheduler="NoSuchScheduler", origin=Origin("a")))
        good = await hub.imagine(fast(origin=Origin("b")))
        with pytest.raises(InvalidRequest, match="NoSuchScheduler"):
            await bad.result()
        ok = await good.result()
        return hub.get_job(bad.job_id), ok

    failed, ok = with_hub(settings, body)
    assert failed.status == "failed" and "NoSuchScheduler" in failed.error and ok.images


def test_cancel_and_restart_recovery(settings):
    async def body(hub):
        running = await hub.imagine(fast(origin=Origin("a")))
        queued = await hub.imagine(fast(origin=Origin("b")))
        assert hub.cancel(queued.job_id, Origin("b"))
        with pytest.raises(JobNotFound, match="no job with id"):  # someone else's private job: as if none
            hub.cancel(running.job_id, Origin("b"))
        hub.share(running.job_id, True, Origin("a"))
        with pytest.raises(Forbidden, match="only its owner"):  # shared: visible, but not theirs to cancel
            hub.cancel(running.job_id, Origin("b"))
        await running.result()
        return queued.job_id

    cancelled = with_hub(settings, body)
    store = Store(settings.data_dir)
    assert store.get(cancelled).status == "cancelled"  # not left "queued" forever
    orphan = store.create(kind="imagine", user="x", surface="web", model="mini", request={})  # no saved work
    store.mark_running(orphan.id)  # as if the process died here
    store.close()

    async def after(hub):
        return hub.get_job(orphan.id)

    record = with_hub(settings, after, recover=True)
    assert record.status == "failed" and "restarted" in record.error


def test_the_prompts_aspect_flag_wins_over_a_front_ends_picker(settings):
    """`a cat --aspect 3:2` with the picker on 16:9 gives 3:2 (the alias included), not 'given more than once'."""

    async def body(hub):
        sizes = []
        for text, picker in (("a cat --aspect 3:2", "9:16"), ("a cat --ar 3:2", "9:16"), ("a cat", "9:16")):
            job = await hub.imagine(fast(text, num_images=1, aspect=picker))
            result = await job.result()
            sizes.append((result.width, result.height))
        with pytest.raises(PromptError, match="aspect “16x9” is not valid"):
            await hub.imagine(fast("a cat", num_images=1, aspect="16x9"))
        return sizes

    (w1, h1), (w2, h2), (w3, h3) = with_hub(settings, body)
    assert (w1, h1) == (w2, h2) and w1 > h1 and w3 < h3  # 3:2 from the prompt (80x48 at the mini's 64² budget)


def test_a_variation_keeps_its_parents_settings_unless_told_otherwise(settings):
    async def body(hub):
        parent = await (
            await hub.imagine(fast(seed=2, guidance_scale=4.0, negative_prompt="blue", scheduler="DDIMScheduler"))
        ).result()
        kept = await (await hub.vary(VaryRequest(parent.job_id, 0, "strong", num_images=1))).result()
        changed = await (
            await hub.vary(
                VaryRequest(parent.job_id, 0, "subtle", num_images=1, num_inference_steps=6, guidance_scale=3)
            )
        ).result()
        low = await (await hub.imagine(ImagineRequest("a red circle", num_inference_steps=2, seed=4))).result()
        subtle = await (await hub.vary(VaryRequest(low.job_id, 0, "subtle", num_images=1))).result()
        assert hub.get_job(subtle.job_id).request["num_inference_steps"] == 3  # img2img at 0.45 needs 3 to run one
        with pytest.raises(InvalidRequest, match="num_inference_steps 500 is out of range"):
            await hub.vary(VaryRequest(parent.job_id, 0, num_inference_steps=500))
        return hub.get_job(kept.job_id).request, hub.get_job(changed.job_id).request

    kept, changed = with_hub(settings, body)
    assert (kept["num_inference_steps"], kept["guidance_scale"], kept["prior_num_inference_steps"]) == (4, 4.0, 4)
    assert (kept["negative_prompt"], kept["scheduler"]) == ("blue", "DDIMScheduler")
    assert (changed["num_inference_steps"], changed["guidance_scale"]) == (6, 3.0)


def test_a_prompt_longer_than_the_text_encoder_reads_runs_and_says_what_was_cut(settings):
    long = "a red circle above a blue square " + "under a sky full of tiny shining lanterns " * 8

    async def body(hub):
        cut = await (await hub.imagine(fast(long, num_images=1))).result()
        whole = await (await hub.imagine(fast("a red circle", num_images=1))).result()
        return cut, whole

    cut, whole = with_hub(settings, body)
    assert whole.notes == () and len(cut.notes) == 1
    assert "the text encoder reads 32 tokens: it never read “" in cut.notes[0] and "lanterns" in cut.notes[0]
    assert "a red circle" not in cut.notes[0]  # what came first was read
