"""The scheduler with a plain runner function: fairness, caps, cancellation, batching, failures."""

import asyncio
import threading

import pytest

from hub.errors import Cancelled, JobFailed, QueueFull, UserLimit
from hub.scheduler import Scheduler, Work


class Gate:
    """Holds the device thread inside the first batch until released, so the queue can fill up."""

    def __init__(self):
        self.entered = threading.Event()
        self.release = threading.Event()
        self.batches: list[list[str]] = []

    def runner(self, batch, report, cancelled):
        self.batches.append([w.job_id for w in batch])
        if len(self.batches) == 1:
            self.entered.set()
            assert self.release.wait(10)
        out = []
        for w in batch:
            if w.payload == "boom":
                raise RuntimeError("engine exploded")
            if w.payload == "slow":
                while not cancelled(w.job_id):
                    self.release.wait(0.01)
                raise Cancelled("cancelled")
            out.append(f"ok:{w.job_id}")
        return out


async def _blocked(sched, gate):
    first = sched.submit(Work("first", "zed", "x"))
    await asyncio.to_thread(gate.entered.wait, 10)
    return first


def test_round_robin_across_users_and_batching_by_key():
    async def main():
        gate = Gate()
        sched = Scheduler(gate.runner, max_queue=50, user_max_jobs=10, max_batch=2)
        first = await _blocked(sched, gate)
        handles = [sched.submit(Work(f"a{i}", "alice", "x")) for i in range(3)]
        handles += [sched.submit(Work("b0", "bob", "x")), sched.submit(Work("c0", "carol", "x"))]
        assert [sched.position(j) for j in ("a0", "b0", "c0", "a1", "a2")] == [1, 2, 3, 4, 5]
        gate.release.set()
        await asyncio.gather(first.result(), *[h.result() for h in handles])
        await sched.stop()
        return gate.batches

    batches = asyncio.run(main())
    assert batches == [["first"], ["a0"], ["b0"], ["c0"], ["a1"], ["a2"]]


def test_compatible_jobs_share_a_batch_and_keep_their_results():
    async def main():
        gate = Gate()
        sched = Scheduler(gate.runner, max_batch=3, user_max_jobs=5)
        first = await _blocked(sched, gate)
        hs = [sched.submit(Work(f"j{i}", f"u{i}", "x", batch_key="same")) for i in range(4)]
        odd = sched.submit(Work("odd", "u9", "x", batch_key="other"))
        gate.release.set()
        results = await asyncio.gather(first.result(), *[h.result() for h in hs], odd.result())
        await sched.stop()
        return gate.batches, results

    batches, results = asyncio.run(main())
    assert batches[1] == ["j0", "j1", "j2"] and ["odd"] in batches and ["j3"] in batches
    assert results[1:5] == ["ok:j0", "ok:j1", "ok:j2", "ok:j3"]


def test_caps_queue_full_and_user_limit():
    async def main():
        gate = Gate()
        sched = Scheduler(gate.runner, max_queue=3, user_max_jobs=2)
        await _blocked(sched, gate)
        sched.submit(Work("a1", "ann", "x"))
        sched.submit(Work("a2", "ann", "x"))
        with pytest.raises(UserLimit, match="you have 2 jobs queued or running \\(the limit is 2\\)"):
            sched.submit(Work("a3", "ann", "x"))
        sched.submit(Work("b1", "bo", "x"))
        with pytest.raises(QueueFull, match="the queue is full \\(3 jobs waiting"):
            sched.submit(Work("c1", "cy", "x"))
        gate.release.set()
        await sched.stop()

    asyncio.run(main())


def test_failure_is_isolated_and_the_queue_keeps_going():
    async def main():
        gate = Gate()
        sched = Scheduler(gate.runner, max_batch=4)
        first = await _blocked(sched, gate)
        good = sched.submit(Work("good", "u1", "x", batch_key="k"))
        bad = sched.submit(Work("bad", "u2", "boom", batch_key="k"))
        after = sched.submit(Work("after", "u3", "x"))
        gate.release.set()
        await first.result()
        assert await good.result() == "ok:good"  # its batch failed because of "bad": it was rerun alone
        with pytest.raises(JobFailed, match="engine exploded"):
            await bad.result()
        assert await after.result() == "ok:after"
        stages = [e.stage async for e in bad.events()]
        await sched.stop()
        return stages

    stages = asyncio.run(main())
    assert stages[0] == "queued" and stages[-1] == "failed"


def test_cancel_queued_and_running():
    async def main():
        gate = Gate()
        sched = Scheduler(gate.runner)
        first = await _blocked(sched, gate)
        queued = sched.submit(Work("q", "u1", "x"))
        slow = sched.submit(Work("s", "u2", "slow"))
        assert sched.cancel("q")
        with pytest.raises(Cancelled):
            await queued.result()
        gate.release.set()
        await first.result()
        async for event in slow.events():
            if event.stage == "running":
                assert sched.cancel("s")
        with pytest.raises(Cancelled):
            await slow.result()
        assert not sched.cancel("never-was")
        await sched.stop()

    asyncio.run(main())


def test_relax_lane_waits_for_fast_but_is_not_starved():
    async def main():
        gate = Gate()
        sched = Scheduler(gate.runner, user_max_jobs=20)
        first = await _blocked(sched, gate)
        relaxed = sched.submit(Work("r", "slowpoke", "x", lane="relax"))
        fast = [sched.submit(Work(f"f{i}", f"u{i}", "x")) for i in range(6)]
        gate.release.set()
        await asyncio.gather(first.result(), relaxed.result(), *[h.result() for h in fast])
        await sched.stop()
        return [b[0] for b in gate.batches]

    order = asyncio.run(main())
    assert order.index("r") > order.index("f0")
    assert order.index("r") < order.index("f5")


def test_users_served_inside_a_batch_also_go_to_the_back_of_the_line():
    async def main():
        gate = Gate()
        sched = Scheduler(gate.runner, max_queue=100, user_max_jobs=5, max_batch=4)
        first = await _blocked(sched, gate)
        handles = [sched.submit(Work(f"{u}{r}", u, "x", batch_key="k")) for r in range(3) for u in "abcdefgh"]
        gate.release.set()
        await asyncio.gather(first.result(), *[h.result() for h in handles])
        await sched.stop()
        return gate.batches[1:]

    batches = asyncio.run(main())
    assert batches[0] == ["a0", "b0", "c0", "d0"] and batches[1] == ["e0", "f0", "g0", "h0"]
    assert batches[2] == ["a1", "b1", "c1", "d1"]  # round 2 starts only after everyone's round 1


def test_a_user_served_a_moment_ago_waits_behind_those_who_were_not():
    """zed's first job is running when zed asks again, before anyone else has asked: zed's second job still goes
    after everyone who waited (round-robin by last service, not by who happens to be first in the list)."""

    async def main():
        gate = Gate()
        sched = Scheduler(gate.runner, max_queue=50, user_max_jobs=10)
        first = await _blocked(sched, gate)  # zed's first job, running
        handles = [sched.submit(Work("z2", "zed", "x"))]
        handles += [sched.submit(Work(f"{u}1", u, "x")) for u in ("amy", "bob")]
        order = [w.job_id for w in sched._order()]
        gate.release.set()
        await asyncio.gather(first.result(), *[h.result() for h in handles])
        await sched.stop()
        return order, gate.batches

    order, batches = asyncio.run(main())
    assert order == ["amy1", "bob1", "z2"] and batches == [["first"], ["amy1"], ["bob1"], ["z2"]]
