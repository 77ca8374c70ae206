"""A job's life (hub/jobs.py) on the real store and worker: small jobs share the queue and the caps, a second
process never touches a live server's jobs, a job running during two crashes is not run a third time, a row that
cannot be written queues nothing."""

import asyncio
import sqlite3
import threading

import pytest
from PIL import Image

from tests.conftest import run
from hub.errors import StorageError, UserLimit
from hub.service import Hub
from hub.store import Store
from hub.types import DescribeRequest, ImagineRequest, LessonRequest, Origin
from hub.work import ImageTask, WorkItem, to_json


def quick(user="ana", steps=2, **kw):
    return ImagineRequest(
        "a red circle", num_inference_steps=steps, prior_num_inference_steps=2, num_images=1, origin=Origin(user), **kw
    )


class Gate:
    """Wraps a Hub's placement: the first batch waits in it until released."""

    def __init__(self, inner):
        self.inner, self.slots = inner, inner.slots
        self.entered, self.release = threading.Event(), threading.Event()
        self.kinds: list[str] = []

    def run(self, items, emit, should_stop, context=None):
        self.kinds.append(items[0].kind)
        self.entered.set()
        assert self.release.wait(60)
        return self.inner.run(items, emit, should_stop, context)


def test_describe_and_lessons_count_against_the_cap_and_wait_their_turn(settings):
    async def main():
        hub = Hub.create(settings.with_(user_max_jobs=2))
        gate = hub.jobs.placement = Gate(hub.jobs.placement)
        await hub.start()
        try:
            first = await hub.imagine(quick("bo"))  # holds the device
            await asyncio.to_thread(gate.entered.wait, 30)
            image = await hub.imagine(quick("ana"))
            pic = Image.new("RGB", (64, 64), "red")
            describing = asyncio.create_task(hub.describe(DescribeRequest(pic, origin=Origin("ana"))))
            await asyncio.sleep(0)  # one turn: describe() runs up to waiting for its queued job's result
            assert hub.scheduler.user_jobs("ana") == 2
            with pytest.raises(UserLimit, match="you have 2 jobs"):
                await hub.imagine(quick("ana"))
            lesson = hub.lesson(LessonRequest("noise", image=pic, origin=Origin("ana")))
            with pytest.raises(UserLimit):
                await lesson.__anext__()
            waiting = hub.scheduler.position(image.job_id), describing.done()
            gate.release.set()
            await first.result(), await image.result()
            described = await describing
            frames = [f async for f in hub.lesson(LessonRequest("noise", image=pic, origin=Origin("ana")))]
            return waiting, described, frames, gate.kinds
        finally:
            gate.release.set()
            await hub.close()

    waiting, described, frames, kinds = run(main())
    assert waiting == (1, False)  # the describe waited behind the image job, in the same queue
    assert len(described.prompts) == 4 and frames and frames[-1].final
    assert kinds == ["imagine", "imagine", "describe"]  # the lesson runs in the Hub's process, on its turn


def test_a_second_process_never_touches_a_live_servers_jobs(settings):
    async def main():
        server = Hub.create(settings, recover=True)
        gate = server.jobs.placement = Gate(server.jobs.placement)
        await server.start()
        try:
            running = await server.imagine(quick("web"))
            queued = await server.imagine(quick("web2"))
            await asyncio.to_thread(gate.entered.wait, 30)
            # `lienzo imagine` on the same data dir, while the server works (and a second server, which recovers)
            for recover in (False, True):
                other = Hub.create(settings, recover=recover)
                await other.start()
                mine = await (await other.imagine(quick("cli"))).result()
                assert other.get_job(running.job_id).status == "running" and other.recovered == ()
                await other.close()
            gate.release.set()
            return await running.result(), await queued.result(), mine
        finally:
            await server.close()

    a, b, mine = run(main())
    assert len(a.images) == len(b.images) == len(mine.images) == 1


def test_a_job_running_during_two_crashes_fails_with_a_reason_and_the_others_run(settings):
    task = ImageTask(
        seeds=[3],
        width=64,
        height=64,
        num_inference_steps=2,
        guidance_scale=4.0,
        prior_num_inference_steps=2,
        parts=[("a red circle", 1.0)],
    )
    dead = Store(settings.data_dir)  # a server that will die
    for job_id, user in (("poison0001", "ana"), ("innocent01", "bo")):
        dead.create(
            job_id=job_id,
            kind="imagine",
            user=user,
            surface="web",
            model="mini",
            request={},
            seeds=[3],
            width=64,
            height=64,
            work=to_json(WorkItem(job_id, "imagine", "mini", task, prompt="x")),
        )
    dead.mark_running("poison0001")  # it started, the server died, the next server ran it again ...
    dead.requeue("poison0001", undo_attempt=False)
    dead.mark_running("poison0001")  # ... and died again while it ran
    (settings.data_dir / "images" / "2026-01-01").mkdir(parents=True)
    half = settings.data_dir / "images" / "2026-01-01" / "poison0001-1.png.tmp"
    half.write_bytes(b"\x89PNG half")
    dead._owner_file.close()  # the process dies: the kernel drops its lock (the row keeps its owner id)

    async def main():
        hub = Hub.create(settings, recover=True)
        await hub.start()
        try:
            ok = await hub.scheduler.handle("innocent01").result()
            return hub.recovered, hub.get_job("poison0001"), ok
        finally:
            await hub.close()

    recovered, poison, ok = run(main())
    assert recovered == ("innocent01",)
    assert poison.status == "failed" and "not tried again" in poison.error and poison.attempts == 2
    assert len(ok.images) == 1 and not half.exists()


def test_a_row_that_cannot_be_written_queues_nothing(settings):
    async def main():
        hub = Hub.create(settings)
        try:
            hub.store._db.execute(
                "CREATE TRIGGER full BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
            with pytest.raises(StorageError, match="could not be saved"):
                await hub.imagine(quick())
            return hub.scheduler.waiting, hub.scheduler.running, hub.list_jobs()
        finally:
            await hub.close()

    assert run(main()) == (0, 0, [])


def test_files_and_rows_agree_after_a_cancel_while_queued(settings):
    async def main():
        hub = Hub.create(settings)
        gate = hub.jobs.placement = Gate(hub.jobs.placement)
        try:
            first = await hub.imagine(quick("a"))
            second = await hub.imagine(quick("b"))
            await asyncio.to_thread(gate.entered.wait, 30)
            assert hub.cancel(second.job_id, Origin("b"))
            gate.release.set()
            await first.result()
            return hub.get_job(second.job_id)
        finally:
            await hub.close()

    record = run(main())
    assert record.status == "cancelled" and record.images == ()
    with sqlite3.connect(settings.data_dir / "lienzo.sqlite3") as db:
        assert db.execute("SELECT work, reply FROM jobs WHERE id=?", (record.id,)).fetchone() == (None, None)
