"""The zerogpu placement held to ZeroGPU's contract (tests/fakes/zerogpu.py): the worker is a forked process,
arguments and every yielded value are pickled, a close cancels, a dead worker fails only its own job."""

import os
import pickle
import signal

import pytest
from PIL import Image

from tests.conftest import run
from hub.errors import Cancelled, JobFailed
from hub.service import Hub
from hub.types import DescribeRequest, ImagineRequest, Origin, ProgressEvent, ShortenRequest
from hub.work import Failure, ImageTask, Output, WorkItem, from_json, to_json, to_png
from tests.fakes.zerogpu import ZeroGPU


def quick(prompt="a red circle", steps=2, n=1, **kw):
    return ImagineRequest(
        prompt, num_inference_steps=steps, prior_num_inference_steps=2, preview=True, num_images=n, **kw
    )


def test_everything_that_crosses_the_boundary_pickles_and_a_work_item_survives_the_job_row():
    red = Image.new("RGB", (8, 8), "red")
    task = ImageTask(
        seeds=[1, 2],
        width=64,
        height=48,
        num_inference_steps=3,
        guidance_scale=4.0,
        parts=[("un círculo", 1.0)],
        images=[(red, 0.5)],
        init_image=red,
        strength=0.4,
    )
    item = WorkItem("abc", "vary", "mini", task, prompt="un círculo", grid=True).plain()
    crossing = [
        item,
        ProgressEvent("abc", "decoder", 2, 3, preview=to_png(red)),
        Output("abc", images=(to_png(red),), parameters=("p",)),
        Failure("abc", "cancelled", "cancelled"),
        WorkItem("d", "describe", "mini", {"image": to_png(red)}),
    ]
    for obj in crossing:
        assert pickle.loads(pickle.dumps(obj)) == obj
    back = from_json(to_json(item))
    assert back == item and back.task.loaded().init_image.getpixel((0, 0)) == (255, 0, 0)
    with pytest.raises(Exception):
        pickle.dumps(WorkItem("x", "imagine", "mini", task=lambda: None))  # the kind of thing that cannot cross


def test_a_job_runs_in_a_forked_worker_with_progress_and_a_cancel_reaches_it(settings):
    zero = ZeroGPU()

    async def main():
        hub = Hub.create(settings.with_(placement="zerogpu"), gpu=zero.GPU)
        await hub.start()
        try:
            first = await hub.imagine(quick(seed=7, n=4, origin=Origin("ana")))
            events = [e async for e in first.events()]
            done = await first.result()
            # a long job: cancel it once its decoder has started in the worker
            long = await hub.imagine(quick(steps=60, origin=Origin("bo")))
            async for event in long.events():
                if event.stage == "decoder" and event.preview is not None:  # a preview made in the worker
                    preview = event.preview
                    hub.cancel(long.job_id)
                    break
            with pytest.raises(Cancelled):
                await long.result()
            after = await (await hub.imagine(quick(origin=Origin("cy")))).result()  # the same worker, still usable
            described = await hub.describe(DescribeRequest(Image.open(done.images[0]), origin=Origin("cy")))
            shortened = await hub.shorten(ShortenRequest("a red circle above a blue square", origin=Origin("cy")))
            return events, done, hub.get_job(long.job_id), after, described, shortened, preview
        finally:
            await hub.close()

    events, done, cancelled, after, described, shortened, preview = run(main())
    steps = [(e.stage, e.step, e.total) for e in events if e.stage in ("prior", "decoder")]
    assert {s for s, _, _ in steps} == {"prior", "decoder"} and steps[-1][1] == steps[-1][2] == 4
    assert isinstance(preview, Image.Image)  # made in the worker, crossed as PNG bytes
    assert len(done.images) == 4 and all(p.exists() for p in done.images) and done.seeds == (7, 8, 9, 10)
    assert cancelled.status == "cancelled"
    assert len(after.images) == 1 and len(described.prompts) == 4 and shortened.token_count > 0
    assert zero.forks == 1 and zero.process.pid != os.getpid()  # one forked worker, reused while idle
    assert len(zero.durations) == 5 and all(5 <= d <= 120 for d in zero.durations)  # one declared call per job


def test_the_declared_duration_grows_with_steps_pixels_and_batch_and_stays_under_the_cap():
    from hub.placement import estimate_seconds

    def item(steps=25, side=512, n=4, model="kandinsky-2.2"):
        task = ImageTask(seeds=list(range(n)), width=side, height=side, num_inference_steps=steps, guidance_scale=4)
        return WorkItem("j", "imagine", model, task)

    base = estimate_seconds([item()])
    assert estimate_seconds([item(steps=50)]) > base and estimate_seconds([item(side=1024)]) > base
    assert estimate_seconds([item(), item()]) > base and estimate_seconds([item(n=1)]) < base
    assert estimate_seconds([item(steps=100, side=1024)] * 4, cap=60) == 60


def test_a_worker_killed_mid_job_is_retried_once_then_fails_with_a_reason_and_others_run(settings):
    zero = ZeroGPU()

    async def kill_during(handle, times):
        """SIGKILL the GPU worker whenever the job's decoder is running, `times` times (an OOM kill, a fault)."""
        kills = 0
        async for event in handle.events():
            if event.stage == "decoder" and kills < times and zero.process.is_alive():
                os.kill(zero.process.pid, signal.SIGKILL)
                kills += 1
        return kills

    async def main():
        hub = Hub.create(settings.with_(placement="zerogpu"), gpu=zero.GPU)
        await hub.start()
        try:
            once = await hub.imagine(quick(steps=60, origin=Origin("ana")))
            assert await kill_during(once, 1) == 1
            survived = await once.result()  # the second attempt, in a fresh worker
            poison = await hub.imagine(quick(steps=60, origin=Origin("ana")))
            assert await kill_during(poison, 2) == 2
            with pytest.raises(JobFailed, match="stopped twice"):
                await poison.result()
            ok = await (await hub.imagine(quick(origin=Origin("bo")))).result()
            return survived, hub.get_job(poison.job_id), ok
        finally:
            await hub.close()

    survived, failed, ok = run(main())
    assert len(survived.images) == 1
    assert failed.status == "failed" and "stopped twice" in failed.error
    assert len(ok.images) == 1 and zero.forks == 4  # the first, the retry, the poison's retry, the next job's


def test_a_call_longer_than_the_quota_is_refused_with_a_message(settings):
    zero = ZeroGPU(quota_s=8.5)  # a job of 4 images at 256x256, 100 steps declares more

    async def main():
        hub = Hub.create(settings.with_(placement="zerogpu"), gpu=zero.GPU)
        try:
            job = await hub.imagine(
                ImagineRequest("a red circle", num_inference_steps=100, width=256, height=256, model="mini")
            )
            with pytest.raises(JobFailed, match="quota"):
                await job.result()
            return hub.get_job(job.job_id)
        finally:
            await hub.close()

    record = run(main())
    assert record.status == "failed" and "quota" in record.error and zero.forks == 0
