"""The web hub in front of the Hub's queue: 40 concurrent gradio_client jobs from 8 users with a cap of 2 each.
Gradio does not serialise them; the Hub's scheduler decides, answers the refused in its own words, batches and
serves round-robin."""

import threading
from concurrent.futures import FIRST_COMPLETED, wait

from gradio_client import Client

from tests.conftest import free_port


class Recorder:
    """Around the Hub's placement: holds the first batch until released; records each batch and, as it starts,
    how many jobs every user has in the Hub."""

    def __init__(self, hub):
        self.hub, self.inner = hub, hub.jobs.placement
        self.slots = self.inner.slots
        self.release = threading.Event()
        self.batches: list[list[str]] = []
        self.most_per_user = 0

    def run(self, items, emit, should_stop, context=None):
        users = [self.hub.get_job(i.job_id).user for i in items]
        self.batches.append(users)
        sched = self.hub.scheduler
        self.most_per_user = max(
            [self.most_per_user] + [sched.user_jobs(u) for u in set(users) | set(sched._lanes["fast"].queues)]
        )
        assert self.release.wait(120)
        return self.inner.run(items, emit, should_stop, context)


def test_forty_jobs_from_eight_users_are_capped_batched_and_served_round_robin(tmp_path, placeholder_models):
    from demos.app import launch
    from hub.service import Hub
    from hub.settings import Settings

    (tmp_path / "models").symlink_to(placeholder_models)
    hub = Hub.create(
        Settings(
            data_dir=tmp_path, offline=True, device="cpu", preview_every=0, user_max_jobs=2, max_queue=64, max_batch=4
        )
    )
    recorder = hub.jobs.placement = Recorder(hub)
    port = free_port()
    demo = launch(hub, port=port, block=False)
    try:
        clients = [Client(f"http://127.0.0.1:{port}/", verbose=False) for _ in range(8)]
        args = ("a red circle", "", "mini", "1:1", 2, 2, 4.0, 0, True, 1, "default")
        futures = [c.submit(*args, api_name="/imagine") for c in clients for _ in range(5)]
        pending = set(futures)
        while len(futures) - len(pending) < 24:  # the refusals come back at once; the accepted wait in the Hub
            done, pending = wait(pending, timeout=120, return_when=FIRST_COMPLETED)
            assert done, "no answer within 2 minutes"
        refused = [f for f in futures if f.done()]
        messages = {str(f.exception()) for f in refused}
        in_hub = hub.scheduler.waiting + hub.scheduler.running
        recorder.release.set()
        results = [f.result(timeout=240) for f in futures if f not in refused]
    finally:
        recorder.release.set()
        demo.close()

    assert len(refused) == 24 and in_hub == 16 and len(results) == 16
    assert all("you have 2 jobs queued or running (the limit is 2)" in m for m in messages), messages
    assert recorder.most_per_user <= 2
    assert max(len(b) for b in recorder.batches) > 1  # compatible jobs share a pipeline call
    # round-robin: the first batch takes whatever had arrived (it may hold a user's two jobs); from then on, with all
    # 16 jobs waiting, everyone's next job comes before anyone's following one, and those served in the first batch
    # wait behind those who were not
    rest = [user for batch in recorder.batches[1:] for user in batch]
    firsts = {u: rest.index(u) for u in set(rest)}
    seconds = [i for i, u in enumerate(rest) if i != firsts[u]]
    assert not seconds or max(firsts.values()) < min(seconds), recorder.batches
    served_first = set(recorder.batches[0])
    late = [firsts[u] for u in firsts if u in served_first]
    assert not late or min(late) > max(firsts[u] for u in firsts if u not in served_first), recorder.batches
    assert len(set(rest) | served_first) == 8
    rows = hub.list_jobs(limit=100)
    assert len(rows) == 16 and {r.status for r in rows} == {"done"}
