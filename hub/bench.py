"""`lienzo bench`: figures measured in one run, as ratios against a baseline from the same run.

- overhead: Hub.imagine (queue, store, PNGs, grid) vs a raw diffusers prior + decoder call on the
  same weights and parameters: the median over `repeats` rounds of the round's hub/raw, the two back to back and
  each first in half the rounds, so drift hits both (the ratio of the two medians is reported beside it). The raw
  call runs the engine's own modules, so on a CPU its UNet and MoVQ run as lanes too (hub/lanes.py); its prior
  reads the prompt's padding, which the Hub's leaves out (hub/engines/prior.py).
  Previews (web, Discord) are measured apart: each one is an extra MoVQ decode.
- batching: 4 users' 4-image requests submitted at once vs the same 4 one after another, paired in rounds as the
  overhead is (the median of the rounds' ratios, and the ratio of the medians); beside it the decoder's
  UNet alone at one job's rows and at four jobs', with its FLOP/s there (what bounds the gain on a CPU), each
  timed as lanes and whole.
- first progress: from submit to the first step event.
- peak memory: the process's peak RSS.
- contention (`--contention`): a grid quiet vs beside one un-niced CPU-bound process the bench starts itself,
  runs interleaved (the process is paused for the quiet ones), under the thread policy (hub/threads.py) and
  with torch's threads fixed at one per core, as before the policy.
- cold start: `lienzo imagine` as a new process, from its start to the grid on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from hub import lanes
from hub.settings import Settings


def run_bench(settings: Settings, model: str = "mini", repeats: int = 5, steps: int | None = None) -> dict:
    """`steps`: prior and decoder steps instead of the model's own (a smoke run); the draft keeps its own."""
    from diffusers import KandinskyV22Pipeline, KandinskyV22PriorPipeline

    from hub import catalog
    from hub.service import Hub
    from hub.types import LIVE_PAUSE_S, ImagineRequest, Origin

    with tempfile.TemporaryDirectory() as scratch:
        settings = replace(settings, data_dir=Path(scratch), max_batch=4, user_max_jobs=8)
        models = Path(settings.data_dir) / "models"
        shared = Settings.from_env().data_dir / "models"
        if shared.exists():  # reuse the placeholder instead of rebuilding it
            models.symlink_to(shared)

        async def main():
            hub = Hub.create(settings)
            spec = catalog.get(model)
            d = spec.defaults
            if steps:
                d = replace(d, num_inference_steps=steps, prior_num_inference_steps=steps)
            req = lambda seed, user="bench", preview=False, draft=False: ImagineRequest(  # noqa: E731
                f"a red circle above a blue square --seed {seed}",
                model=model,
                preview=preview,
                draft=draft,
                num_inference_steps=None if draft else d.num_inference_steps,
                prior_num_inference_steps=None if draft else d.prior_num_inference_steps,
                origin=Origin(user=user, surface="cli"),
            )
            await (await hub.imagine(req(0))).result()  # load weights, warm up
            engine = hub.worker.engines[model]
            prior = KandinskyV22PriorPipeline(**engine.prior.components)
            decoder = KandinskyV22Pipeline(**engine.decoder.components)
            for p in (prior, decoder):
                p.set_progress_bar_config(disable=True)

            def raw(seed):
                gens = lambda: [torch.Generator("cpu").manual_seed(seed + i) for i in range(4)]  # noqa: E731
                emb = prior(
                    ["a red circle above a blue square"] * 4,
                    generator=gens(),
                    num_inference_steps=d.prior_num_inference_steps,
                    guidance_scale=d.prior_guidance_scale,
                )
                return decoder(
                    image_embeds=emb.image_embeds,
                    negative_image_embeds=emb.negative_image_embeds,
                    width=d.width,
                    height=d.height,
                    num_inference_steps=d.num_inference_steps,
                    guidance_scale=d.guidance_scale,
                    generator=gens(),
                ).images

            async def timed(job_req):
                """Seconds to the result, to the first step event and to the first preview image."""
                t0 = time.perf_counter()
                job = await hub.imagine(job_req)
                first = first_preview = None
                async for event in job.events():
                    if first is None and event.total:
                        first = time.perf_counter() - t0
                    if first_preview is None and event.preview is not None:
                        first_preview = time.perf_counter() - t0
                await job.result()
                return time.perf_counter() - t0, first, first_preview

            m: dict[str, list] = {k: [] for k in ("hub", "raw", "first", "preview", "first_preview", "draft")}
            warm = await (await hub.imagine(req(1, draft=True))).result()  # the draft's scheduler, warmed
            r = hub.get_job(warm.job_id).request
            m["draft_settings"] = {
                "prior_steps": r["prior_num_inference_steps"],
                "decoder_steps": r["num_inference_steps"],
                "scheduler": r["scheduler"],
                "timesteps": r.get("timesteps"),  # None: the scheduler's own spacing
                "decoded_by": "tiny latent decoder"
                if getattr(engine, "fast_vae", None) is not None
                else "the model's own",
            }
            for r in range(repeats):
                for kind in _in_turn(r, "raw", "hub"):
                    if kind == "raw":
                        t0 = time.perf_counter()
                        await hub.scheduler.run_sync(raw, 100 + r)  # same thread as the hub: same OpenMP team
                        m["raw"].append(time.perf_counter() - t0)
                    else:
                        took, first, _ = await timed(req(100 + r))
                        m["hub"].append(took)
                        m["first"].append(first)
                took, _, first_preview = await timed(req(100 + r, preview=True))
                m["preview"].append(took)
                m["first_preview"].append(first_preview)
                m["draft"].append((await timed(req(100 + r, draft=True)))[0])

            m["sequential"], m["together"] = [], []
            for r in range(max(1, (repeats + 1) // 2)):
                for kind in _in_turn(r, "sequential", "together"):
                    t0 = time.perf_counter()
                    if kind == "sequential":
                        for i in range(4):
                            await (await hub.imagine(req(200 + 4 * r + i, f"user{i}"))).result()
                    else:
                        jobs = [await hub.imagine(req(200 + 4 * r + i, f"user{i}")) for i in range(4)]
                        await asyncio.gather(*[j.result() for j in jobs])
                    m[kind].append(time.perf_counter() - t0)

            unet_args = (engine, d.width, d.height, d.guidance_scale, repeats)
            m["unet"] = await hub.scheduler.run_sync(unet_batching, *unet_args)
            # live: a prefix of the prompt every 40 ms (a typist, with no debounce in front: the hub's worst
            # case), then the last key, the web hub's pause (LIVE_PAUSE_S) and the whole prompt; from that last
            # request, and from the last key, to its grid
            m["live"], m["live_keystroke"] = [], []
            text = "a red circle above a blue square"
            for r in range(repeats):
                for n in range(8, len(text), 4):
                    await hub.imagine(ImagineRequest(text[:n], model=model, live=True, origin=Origin("typist")))
                    await asyncio.sleep(0.04)
                typed = time.perf_counter()
                await asyncio.sleep(LIVE_PAUSE_S)  # the page's debounce, as demos/tabs/generate.py waits it
                t0 = time.perf_counter()
                await (
                    await hub.imagine(ImagineRequest(text, model=model, live=True, origin=Origin("typist")))
                ).result()
                m["live"].append(time.perf_counter() - t0)
                m["live_keystroke"].append(time.perf_counter() - typed)
            m["notes"] = list(engine.notes)
            await hub.close()
            return m

        m = asyncio.run(main())
        cold = cold_start(settings, model, steps)

    med = statistics.median
    return {
        "model": model + (" (untrained placeholder: same architecture, random weights)" if m["notes"] else ""),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "cpu_model": cpu_model(),
            "torch_threads": "per batch, the cores other work leaves free (hub/threads.py)",
            "lanes": f"{settings.lanes}: UNets and decoders split across the threads (hub/lanes.py)",
            "device": "cpu" if not torch.cuda.is_available() else torch.cuda.get_device_name(0),
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "repeats": repeats,
        "imagine_4_images_s": {"hub_median": round(med(m["hub"]), 4), "raw_diffusers_median": round(med(m["raw"]), 4)},
        "hub_overhead_ratio": _paired_ratio(m["hub"], m["raw"]),  # the ratio of the two medians beside it
        "hub_overhead_ratio_of_medians": round(med(m["hub"]) / med(m["raw"]), 3),
        "with_previews": {
            "hub_median_s": round(med(m["preview"]), 4),
            "ratio_to_raw": round(med(m["preview"]) / med(m["raw"]), 3),
            "preview_every_steps": settings.preview_every,
        },
        "draft": {
            "grid_s": round(med(m["draft"]), 4),
            "full_grid_s": round(med(m["hub"]), 4),
            "speedup": round(med(m["hub"]) / med(m["draft"]), 2),
            "settings": m["draft_settings"],
        },
        "batching": {
            "four_requests_one_by_one_s": round(med(m["sequential"]), 4),
            "four_requests_at_once_s": round(med(m["together"]), 4),
            "gain_ratio": _paired_ratio(m["sequential"], m["together"]),
            "gain_ratio_of_medians": round(med(m["sequential"]) / med(m["together"]), 3),
            "rounds": len(m["together"]),
            "decoder_unet_alone": m["unet"],
        },
        "time_to_first_progress_s": round(med(m["first"]), 4),
        "time_to_first_preview_s": _median_or_none(m["first_preview"]),  # None: no step made a preview
        "live_last_request_to_grid_s": round(med(m["live"]), 4),
        "live_last_keystroke_to_grid_s": round(med(m["live_keystroke"]), 4),  # the debounce included
        "cold_start_to_first_grid_s": cold,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def cpu_model() -> str:
    """The CPU's name as the kernel gives it (machines of one kind differ: session 28's AMD EPYC ran the mini at
    half the speed of earlier sessions' machines)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def unet_batching(engine, width: int, height: int, guidance: float, repeats: int) -> dict:
    """The decoder's UNet alone at one job's rows (4 images, twice over with guidance) and at four jobs', timed
    interleaved on the calling thread: batching four jobs can gain little more than this where the UNet is most of
    a grid's time. FLOP/s at four jobs' rows, read against the machine's peak, say whether it is compute-bound."""
    from torch.utils.flop_counter import FlopCounterMode

    unet, pipe = engine.decoder.unet, engine.decoder
    scale = pipe.movq_scale_factor
    one = 4 * (2 if guidance > 1 else 1)

    def call(rows):
        x = torch.randn(rows, unet.config.in_channels, height // scale, width // scale, dtype=unet.dtype)
        emb = torch.randn(rows, unet.config.encoder_hid_dim, dtype=unet.dtype)
        x, emb = x.to(unet.device), emb.to(unet.device)
        t = torch.tensor(500, device=unet.device)
        return lambda: unet(x, t, encoder_hidden_states=None, added_cond_kwargs={"image_embeds": emb})

    def done():  # a GPU runs kernels after the call returns: wait for them before reading the clock
        if unet.device.type == "cuda":
            torch.cuda.synchronize(unet.device)

    calls = {"one": call(one), "four": call(4 * one)}
    ways = {"lanes": lanes.mode, "whole": "off"}  # the policy's way, and every call whole (hub/lanes.py)
    times: dict[tuple[str, str], list[float]] = {(c, w): [] for c in calls for w in ways}
    with torch.inference_mode():
        try:
            lanes.set_mode("off")  # the counter sees this thread's operators only
            with FlopCounterMode(display=False) as flops:
                calls["four"]()
            for f in calls.values():
                f()  # warm
            for _ in range(max(5, 2 * repeats)):
                for (name, way), took in times.items():
                    lanes.set_mode(ways[way])
                    done()
                    t0 = time.perf_counter()
                    calls[name]()
                    done()
                    took.append(time.perf_counter() - t0)
        finally:
            lanes.set_mode(ways["lanes"])
    med = {key: statistics.median(took) for key, took in times.items()}
    one_s, four_s = med["one", "lanes"], med["four", "lanes"]
    return {
        "rows_one_job": one,
        "one_job_ms": round(1000 * one_s, 1),
        "four_jobs_ms": round(1000 * four_s, 1),
        "gain_ratio": round(4 * one_s / four_s, 3),
        "four_jobs_gflop_per_s": round(flops.get_total_flops() / four_s / 1e9, 1),
        "whole_calls_ms": {
            "one_job": round(1000 * med["one", "whole"], 1),
            "four_jobs": round(1000 * med["four", "whole"], 1),
        },
        "lanes_speedup": {
            "one_job": round(med["one", "whole"] / one_s, 3),
            "four_jobs": round(med["four", "whole"] / four_s, 3),
        },
    }


def run_ray_bench(settings: Settings, model: str = "mini", jobs: int = 8, steps: int = 25) -> dict:
    """Jobs a second through the ray placement with one Serve replica, then two, on a local Ray instance using
    every core here. `jobs` users each ask for one 4-image job (no batching: max_batch 1), all at once."""
    import ray
    from ray import serve

    from hub.ray_serve import UNNICED
    from hub.service import Hub
    from hub.types import ImagineRequest, Origin

    cores = os.cpu_count() or 1
    out: dict = {"model": model, "jobs": jobs, "steps": steps, "cores": cores}
    with tempfile.TemporaryDirectory() as scratch:
        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False, runtime_env=UNNICED)
        try:
            for replicas in (1, 2):
                s = replace(
                    settings,
                    data_dir=Path(scratch) / f"r{replicas}",
                    placement="ray",
                    ray_replicas=replicas,
                    ray_cpus=cores / replicas,
                    threads=max(1, cores // replicas),
                    max_batch=1,
                    user_max_jobs=2,
                    preload=(model,),
                )
                shared = Settings.from_env().data_dir / "models"
                s.data_dir.mkdir(parents=True)
                if shared.exists():
                    (s.data_dir / "models").symlink_to(shared)

                async def main(s=s):
                    hub = Hub.create(s)  # deploys (and waits for) the replicas
                    await hub.start()

                    def req(i):
                        return ImagineRequest(
                            f"a red circle --seed {i}",
                            model=model,
                            num_inference_steps=steps,
                            origin=Origin(f"user{i}"),
                        )

                    await (await hub.imagine(req(0))).result()  # warm
                    t0 = time.perf_counter()
                    handles = [await hub.imagine(req(i)) for i in range(jobs)]
                    await asyncio.gather(*[h.result() for h in handles])
                    took = time.perf_counter() - t0
                    await hub.close()
                    return took

                took = asyncio.run(main())
                serve.delete(f"lienzo-{model}")  # free its CPUs: the next size is a new deployment, not an update
                out[f"replicas_{replicas}"] = {
                    "seconds": round(took, 3),
                    "jobs_per_s": round(jobs / took, 3),
                    "torch_threads_per_replica": s.threads,
                }
        finally:
            serve.shutdown()
            ray.shutdown()
    out["ratio_two_vs_one"] = round(out["replicas_2"]["jobs_per_s"] / out["replicas_1"]["jobs_per_s"], 3)
    return out


def _in_turn(r: int, first: str, second: str) -> tuple[str, str]:
    """Round r's two kinds of run, back to back, each first in half the rounds."""
    return (first, second) if r % 2 == 0 else (second, first)


def _paired_ratio(num: list[float], den: list[float]) -> float:
    """The median of the rounds' num/den: the two ran back to back (`_in_turn`), so what slows the machine for a
    while (these are shared cores) slows both."""
    return round(statistics.median([a / b for a, b in zip(num, den)]), 3)


def _median_or_none(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 4) if values else None


BUSY = "while True:\n    sum(i * i for i in range(10**6))\n"


@contextlib.contextmanager
def busy_process():
    """One un-niced, CPU-bound process for the duration: the competing load of `--contention`."""
    busy = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        yield busy
    finally:
        busy.kill()
        busy.wait()


def run_contention(settings: Settings, model: str = "mini", repeats: int = 5, steps: int | None = None) -> dict:
    """A 2x2 grid at default steps, quiet and beside one busy process, medians of interleaved runs: under the
    thread policy, then with torch's threads fixed at one per core (what every run did before the policy)."""
    from hub import threads
    from hub.service import Hub
    from hub.types import ImagineRequest, Origin

    busy = subprocess.Popen([sys.executable, "-c", BUSY])  # un-niced, CPU-bound, for the whole run
    os.kill(busy.pid, signal.SIGSTOP)
    cores = threads.usable_cores()
    out: dict = {"model": model, "cores": cores, "repeats": repeats}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for name, fixed in (("thread_policy", None), ("fixed_threads", cores)):
                s = replace(settings, data_dir=Path(scratch) / name, threads=fixed, max_batch=1)

                async def main(s=s):
                    hub = Hub.create(s)
                    req = ImagineRequest(
                        "a red circle above a blue square --seed 1",
                        model=model,
                        num_inference_steps=steps,
                        prior_num_inference_steps=steps,
                        origin=Origin("bench", surface="cli"),
                    )
                    await (await hub.imagine(req)).result()  # load, warm up
                    quiet, loaded = [], []
                    for _ in range(repeats):
                        for paused, times in ((True, quiet), (False, loaded)):
                            os.kill(busy.pid, signal.SIGSTOP if paused else signal.SIGCONT)
                            t0 = time.perf_counter()
                            await (await hub.imagine(req)).result()
                            times.append(time.perf_counter() - t0)
                    os.kill(busy.pid, signal.SIGSTOP)
                    await hub.close()
                    return quiet, loaded

                quiet, loaded = asyncio.run(main())
                q, lo = statistics.median(quiet), statistics.median(loaded)
                out[name] = {"quiet_s": round(q, 3), "loaded_s": round(lo, 3), "ratio": round(lo / q, 2)}
    finally:
        busy.kill()
        busy.wait()
    return out


def cold_start(settings: Settings, model: str = "mini", steps: int | None = None) -> float:
    """Seconds from starting `lienzo imagine` as a new process to its exit with the grid written."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "LIENZO_DATA_DIR": scratch, "HF_HUB_OFFLINE": "1"}
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "hub.cli", "imagine", "a red circle --seed 1", "--model", model, "--out", scratch]
            + (["--steps", str(steps)] if steps else []),
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        took = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"lienzo imagine failed: {proc.stderr[-500:]}")
    return round(took, 2)
