"""The ray placement on a real local Ray: two Serve replicas of the mini, jobs from several users, one replica
killed mid-job. One Ray instance and one Serve application for the whole module (starting them is the cost)."""

import asyncio
import os
from pathlib import Path

import pytest
import ray

from tests.conftest import run
from hub.service import Hub
from hub.types import ImagineRequest, Origin


def quick(user, steps=3, seed=0):
    return ImagineRequest(
        f"a red circle --seed {seed}",
        num_inference_steps=steps,
        prior_num_inference_steps=2,
        num_images=1,
        origin=Origin(user),
    )


@pytest.mark.timeout(300)  # 21-30 s quiet, 50 s beside two CPU-bound processes; 251 s in a suite run beside one,
# before Serve's controller and replicas ran unniced (session 33)
def test_two_replicas_serve_many_users_and_a_replica_killed_mid_job_loses_nothing_else(tmp_path, placeholder_models):
    from ray import serve

    (tmp_path / "models").symlink_to(placeholder_models)
    try:  # the Hub starts a local Ray instance on every core, as `lienzo serve --ray local` does
        settings_kw = dict(
            data_dir=tmp_path,
            offline=True,
            device="cpu",
            preview_every=0,
            placement="ray",
            ray_replicas=2,
            ray_cpus=0.5,
            user_max_jobs=4,
        )
        from hub.settings import Settings

        hub = Hub.create(Settings(**settings_kw))

        async def main():
            await hub.start()
            try:
                victim = await hub.imagine(quick("victim", steps=100))
                others = [await hub.imagine(quick(f"user{u}", seed=j)) for u in range(3) for j in range(2)]
                replica = None
                async for event in victim.events():
                    if event.message and event.message.startswith("replica "):
                        replica = event.message.split()[1]
                    if event.stage == "decoder" and replica:
                        break
                nice = {title: niceness(title) for title in ("ray::ServeController", "ray::ServeReplica:lienzo-mini")}
                killed = kill_replica(replica)
                done = await asyncio.gather(*[o.result() for o in others])
                try:
                    outcome = await victim.result()
                except Exception as exc:  # noqa: BLE001 (a clear failure is allowed; the test reads its message)
                    outcome = exc
                proxies = serve.status().proxies  # handles only: Serve started without HTTP proxies
                return killed, done, outcome, hub.get_job(victim.job_id), hub.list_jobs(limit=20), proxies, nice
            finally:
                await hub.close()

        killed, done, outcome, victim_row, rows, proxies, nice = run(main())
    finally:
        serve.shutdown()
        ray.shutdown()

    assert killed and proxies == {}
    # Serve's controller and both replicas at niceness 0, not Ray's default 15 for its workers: at 15 they starved
    # beside CPU-bound processes (hub/ray_serve.py)
    assert nice == {"ray::ServeController": [0], "ray::ServeReplica:lienzo-mini": [0, 0]}, nice
    assert len(done) == 6 and all(len(r.images) == 1 and r.images[0].exists() for r in done)
    # the interrupted job was sent again to a live replica (or, if that died too, failed saying why)
    if isinstance(outcome, Exception):
        assert victim_row.status == "failed" and "stopped" in victim_row.error
    else:
        assert victim_row.status == "done" and outcome.images[0].exists()
    assert sorted(r.status for r in rows if r.id != victim_row.id) == ["done"] * 6
    assert {r.user for r in rows} == {"victim", "user0", "user1", "user2"}


def niceness(title: str) -> list[int]:
    """The niceness of each process whose title starts with `title` (Ray titles its workers `ray::<actor>`)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").startswith(title):
                found.append(os.getpriority(os.PRIO_PROCESS, int(pid)))
        except OSError:  # gone meanwhile
            continue
    return sorted(found)


def kill_replica(unique_id: str) -> bool:
    from ray.util import list_named_actors

    for actor in list_named_actors(all_namespaces=True):
        if actor["name"].startswith("SERVE_REPLICA") and actor["name"].endswith(unique_id):
            ray.kill(ray.get_actor(actor["name"], namespace=actor["namespace"]), no_restart=False)
            return True
    return False
