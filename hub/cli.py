"""The `lienzo` command: imagine, mix, describe, ask, models, serve, bot, bench; train-mini and eval-mini are the
mini's (hub.mini.commands)."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import logging
import os
import shutil
import sys
import threading
from pathlib import Path

from hub.errors import LienzoError

EXIT_USAGE = 2


def _progress(handle, label: str):
    """A tqdm bar over a job's step events; returns the job's result."""
    from tqdm import tqdm

    async def run():
        bar = None
        async for event in handle.events():
            if event.stage == "queued" and event.position and event.position > 1:
                print(f"queued: position {event.position}", file=sys.stderr)
            if event.total:
                if bar is None:
                    bar = tqdm(total=event.total, desc=label, unit="step", file=sys.stderr, leave=False)
                bar.set_postfix_str(event.stage)
                bar.update(event.step - bar.n)
        if bar is not None:
            bar.close()
        return await handle.result()

    return run()


def _write_outputs(result, out: Path | None) -> list[Path]:
    files = ([result.grid] if result.grid else []) + list(result.images)
    if out is None:
        return files
    out.mkdir(parents=True, exist_ok=True)
    copied = []
    for f in files:
        name = f.name.replace(result.job_id, f"lienzo-{result.job_id}")
        copied.append(Path(shutil.copy2(f, out / name)))
    return copied


def _check_out(out: Path | None) -> None:
    """--out must be a folder (made if missing): refused before any work, not after it."""
    from hub.errors import ConfigError

    if out is not None and out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} is a file; give a folder for the images (it is made if missing)")


def _port_free(host: str, port: int) -> None:
    """A busy port is said in one line before anything loads."""
    import socket

    from hub.errors import ConfigError

    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            raise ConfigError(
                f"port {port} on {host} is already in use (another server?); pass --port with a free "
                "port or stop the other server"
            ) from None


def _report(result, out: Path | None, as_json: bool) -> None:
    files = _write_outputs(result, out)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if as_json:
        print(
            json.dumps(
                {
                    "job_id": result.job_id,
                    "model": result.model,
                    "seeds": list(result.seeds),
                    "files": [str(f) for f in files],
                    "grid": str(files[0]) if result.grid else None,
                    "notes": list(result.notes),
                },
                indent=2,
            )
        )
        return
    print(
        f"job {result.job_id}  model {result.model}  seeds {', '.join(map(str, result.seeds))}  "
        f"{result.width}x{result.height}"
    )
    for f in files:
        print(f"{'grid ' if 'grid' in f.name else 'image'}  {f}")


async def _imagine(hub, args) -> None:
    from hub.types import ImagineRequest, Origin

    req = ImagineRequest(
        prompt=args.prompt,
        negative_prompt=args.negative or "",
        model=args.model,
        num_images=args.num_images,
        width=args.width,
        height=args.height,
        num_inference_steps=args.steps,
        guidance_scale=args.guidance,
        seed=args.seed,
        scheduler=args.scheduler,
        origin=Origin(user="cli", surface="cli"),
    )
    handle = await hub.imagine(req)
    _report(await _progress(handle, "imagine"), args.out, args.json)


async def _mix(hub, args) -> None:
    from hub.types import MixItem, MixRequest, Origin

    items = []
    for raw in args.items:
        text, weight = raw, 1.0
        head, sep, tail = raw.rpartition(":")
        if sep and head:
            try:
                text, weight = head, float(tail)
            except ValueError:
                pass
        path = Path(text).expanduser()
        if not path.is_file() and _looks_like_a_path(text):
            from hub.errors import ImageError

            raise ImageError(
                f"mix item {str(text)!r} looks like an image file but there is no such file; check the "
                "path (a text with a slash or an image extension is read as a path)"
            )
        items.append(MixItem(image=str(path), weight=weight) if path.is_file() else MixItem(text=text, weight=weight))
    req = MixRequest(
        items=tuple(items),
        negative_prompt=args.negative or "",
        model=args.model,
        num_images=args.num_images,
        seed=args.seed,
        origin=Origin(user="cli", surface="cli"),
    )
    handle = await hub.mix(req)
    _report(await _progress(handle, "mix"), args.out, args.json)


def _looks_like_a_path(text: str) -> bool:
    """A mix item meant as a file: a path separator, ~ at the start, or an image file's extension."""
    t = text.strip().lower()
    return (
        (" " not in t and ("/" in t or "\\" in t))
        or t.startswith("~")
        or t.endswith((".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"))
    )


async def _describe(hub, args) -> None:
    from hub.types import DescribeRequest

    result = await hub.describe(DescribeRequest(image=args.image, model=args.model))
    if args.json:
        print(json.dumps({"prompts": list(result.prompts), "scores": list(result.scores)}, indent=2))
        return
    for i, (text, score) in enumerate(zip(result.prompts, result.scores), 1):
        print(f"{i}. {text}   (similarity {score:.3f})")


async def _ask(hub, args) -> None:
    """The tutor's answer as it grows (with a chat model here), else the notes' passages; the last text is whole."""
    from hub.types import TutorRequest

    shown = ""
    async for text in hub.ask_tutor(TutorRequest(args.question)):
        if text.startswith(shown):
            print(text[len(shown) :], end="", flush=True)
        else:  # the last text rewrote what streamed (it adds the citations): start again on a new line
            print("\n\n" + text, end="", flush=True)
        shown = text
    print()


def _models(settings, args) -> None:
    from hub import catalog
    from hub.loading import Loader

    loader = Loader(settings)
    rows = []
    for spec in catalog.MODELS.values():
        avail = loader.availability(spec)
        local = None
        if spec.bundled is not None:
            local = str(
                loader.bundled_path(spec)
                if avail.status == "bundled"
                else settings.data_dir / "models" / "mini-placeholder"
            )
        rows.append(
            {
                "name": spec.name,
                "title": spec.title,
                "family": spec.family,
                "capabilities": sorted(spec.capabilities),
                "runs_here": avail.ok,
                "status": avail.status,
                "reason": avail.reason,
                "weights": dict(spec.repos) or None,
                "local_path": local,
                "license": spec.license,
            }
        )
    if args.json:
        print(json.dumps({"device": loader.device, "offline": loader.offline, "models": rows}, indent=2))
        return
    print(f"device: {loader.device}   offline: {'yes' if loader.offline else 'no'}\n")
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        mark = "yes" if r["runs_here"] else "no "
        print(f"{r['name']:<{width}}  {mark}  {r['status']:<11}  {', '.join(r['capabilities'])}")
        print(f"{'':<{width}}       {r['reason']}")


async def serve_with_bot(
    hub,
    token: str,
    host: str = "127.0.0.1",
    port: int = 7860,
    mcp: bool = False,
    guild_id: int | None = None,
    ready=None,
    gateway: bool = True,
    web_ready=None,
) -> None:
    """The web hub and the Discord bot in one process, on one event loop, sharing one Hub:
    one copy of the weights, one queue, round-robin across web and Discord users."""
    import asyncio
    import logging

    import aiohttp
    import discord
    import gradio as gr
    import uvicorn
    from fastapi import FastAPI

    from bots.app import LienzoBot
    from demos.app import build_app, serving_options

    log = logging.getLogger("lienzo.serve")

    class Server(uvicorn.Server):
        """uvicorn's server, with an event set once it listens."""

        def __init__(self, config):
            super().__init__(config)
            self.listening = asyncio.Event()

        async def startup(self, sockets=None):
            await super().startup(sockets)
            self.listening.set()

    demo, i18n = build_app(hub)
    app = gr.mount_gradio_app(
        FastAPI(), demo, path="/", server_name=host, server_port=port, **serving_options(hub, i18n, mcp)
    )
    server = Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    await hub.start()
    bot = LienzoBot(hub, guild_id=guild_id)
    web = asyncio.create_task(server.serve(), name="lienzo-web")
    if web_ready is not None:  # tests: the web hub answers whatever Discord does
        asyncio.create_task(server.listening.wait()).add_done_callback(lambda _: web_ready(server))

    async def keep_bot_up():
        """Log in (retrying with backoff while Discord cannot be reached: the web hub stays up meanwhile), then
        hold the gateway. A token Discord refuses is said once; the web hub goes on without the bot."""
        delay = 2.0
        while True:
            try:
                await bot.login(token)
                break
            except discord.LoginFailure:
                log.error("Discord refused DISCORD_TOKEN (wrong, reset or revoked): the web hub runs without the bot")
                return
            except (OSError, aiohttp.ClientError, discord.HTTPException) as exc:
                log.warning("Discord cannot be reached (%s); trying again in %.0f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)  # a retry's backoff, not a wait for something to happen
                delay = min(delay * 2, 300.0)
        await server.listening.wait()
        if ready is not None:
            ready(bot, server)
        if gateway:  # gateway=False: tests inject interactions themselves and have no gateway to connect to
            await bot.connect()

    discord_side = asyncio.create_task(keep_bot_up(), name="lienzo-discord")
    try:
        await web
    finally:
        server.should_exit = True
        discord_side.cancel()
        await bot.close()
        await asyncio.gather(web, discord_side, return_exceptions=True)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lienzo", description="Lienzo: a generative-AI demo hub (offline on its bundled model)."
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log what the core does")
    sub = p.add_subparsers(dest="command", required=True)

    def image_opts(sp):
        sp.add_argument("--model", help="model name (see `lienzo models`); default: the best that runs here")
        sp.add_argument("--out", type=Path, help="copy the grid and images into this folder")
        sp.add_argument("--negative", help="negative prompt (also: --no inside the prompt)")
        sp.add_argument("--num-images", type=int, default=4, help="1-4 (default 4, with a 2x2 grid)")
        sp.add_argument("--seed", type=int, help="first image's seed (also: --seed inside the prompt)")
        sp.add_argument("--json", action="store_true", help="print the result as JSON")

    im = sub.add_parser("imagine", help='text to image: lienzo imagine "a red circle --ar 16:9 --seed 7"')
    im.add_argument("prompt", help="the prompt, with Midjourney flags (--ar --seed --no --chaos --q --stop --s --tile)")
    image_opts(im)
    im.add_argument("--width", type=int)
    im.add_argument("--height", type=int)
    im.add_argument("--steps", type=int, help="decoder steps (default: the model's)")
    im.add_argument("--guidance", type=float, help="guidance scale (default: the model's)")
    im.add_argument("--scheduler", help="diffusers scheduler class, e.g. DDIMScheduler")

    mx = sub.add_parser("mix", help="mix texts and images: lienzo mix cat.png:0.6 'a blue square':0.4")
    mx.add_argument("items", nargs="+", help="ITEM[:WEIGHT]; ITEM is an image path or a text")
    image_opts(mx)

    de = sub.add_parser("describe", help="four candidate prompts for an image")
    de.add_argument("image", help="an image file")
    de.add_argument("--model")
    de.add_argument("--json", action="store_true")

    ak = sub.add_parser("ask", help="ask the tutor about generative models (English or Spanish), from the course notes")
    ak.add_argument("question")

    mo = sub.add_parser("models", help="the models, and whether each can run here now")
    mo.add_argument("--json", action="store_true", help="machine-readable, with local paths of bundled models")

    sv = sub.add_parser("serve", help="the web hub (Gradio) on the best model that runs here")
    sv.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve the network")
    sv.add_argument("--port", type=int, default=7860)
    sv.add_argument("--share", action="store_true", help="a temporary public gradio.live link")
    sv.add_argument("--mcp", action="store_true", help="also serve the tools over MCP (or LIENZO_MCP=1)")
    sv.add_argument("--bot", action="store_true", help="also run the Discord bot (DISCORD_TOKEN) on the same Hub")
    sv.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run the models on Ray Serve replicas: 'auto' (the cluster this "
        "box joined), HOST:PORT, or 'local' (start Ray here); see README, Scaling out",
    )

    bt = sub.add_parser("bot", help="the Discord bot (token from DISCORD_TOKEN)")
    bt.add_argument("--print-commands", action="store_true", help="print the slash commands as synced, then exit")
    bt.add_argument("--guild", type=int, help="sync to this guild at once (for development)")
    bt.add_argument("--ray", metavar="ADDRESS", help="as for serve: run the models on Ray Serve replicas")

    from hub.mini.commands import add_parsers

    add_parsers(sub)

    be = sub.add_parser("bench", help="measure hub overhead, batching gain, first-progress latency, memory")
    be.add_argument("--repeats", type=int, default=5)
    be.add_argument("--steps", type=int, help="prior and decoder steps instead of the model's (a quick smoke run)")
    be.add_argument("--model", default="mini")
    be.add_argument("--out", type=Path, help="also write the JSON here")
    be.add_argument(
        "--ray",
        action="store_true",
        help="instead: jobs/s through Ray Serve with one replica, then two (starts a local Ray instance)",
    )
    be.add_argument(
        "--random-weights",
        action="store_true",
        help="instead: the full-size architectures (published configs, random weights) through the real pipelines, "
        "each lever on and off; --model picks one (kandinsky-2.2, sdxl-turbo, sd-1.5, smollm2-360m, qwen2.5-0.5b)",
    )
    be.add_argument(
        "--contention",
        action="store_true",
        help="instead: a grid quiet vs beside one busy process the bench starts (interleaved), with the thread "
        "policy and with threads fixed at one per core; with --explainer: every Learn section beside that process",
    )
    be.add_argument("--reduced", action="store_true", help="with --random-weights: toy width (the default on a CPU)")
    be.add_argument(
        "--gpu-subset", action="store_true", help="with --random-weights: the prepared ten-minute set for one GPU"
    )
    be.add_argument(
        "--explainer",
        action="store_true",
        help="instead: time every explainer demo (first frame, total) and re-ship its default run in English and "
        "Spanish (with --contention: timed beside a busy process, not shipped)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not args.verbose:  # the libraries' own warnings (transformers on torchvision, ...) only with -v
        for library in ("TRANSFORMERS_VERBOSITY", "DIFFUSERS_VERBOSITY"):
            os.environ.setdefault(library, "error")
    from hub.settings import Settings

    try:
        settings = Settings.from_env()
        if args.command in ("serve", "bot") and args.ray:
            settings = settings.with_(placement="ray", ray_address=None if args.ray == "local" else args.ray)
        if args.command == "models":
            _models(settings, args)
            return 0
        if args.command == "serve":
            _port_free(args.host, args.port)
            from demos.app import launch
            from hub.service import Hub

            mcp = args.mcp or os.environ.get("LIENZO_MCP", "").strip().lower() in ("1", "true", "yes", "on")
            if args.bot:
                token = os.environ.get("DISCORD_TOKEN", "").strip()
                if not token:
                    print(
                        "error: --bot needs DISCORD_TOKEN (the bot's token from Discord's developer portal)",
                        file=sys.stderr,
                    )
                    return EXIT_USAGE
                asyncio.run(serve_with_bot(Hub.create(settings, recover=True), token, args.host, args.port, mcp))
                return 0
            launch(Hub.create(settings, recover=True), args.host, args.port, args.share, mcp)
            return 0
        if args.command == "bot":
            return _bot(settings, args)
        if args.command == "train-mini":
            from hub.mini.commands import train_mini

            return train_mini(settings, args)
        if args.command == "eval-mini":
            from hub.mini.commands import eval_mini

            return eval_mini(settings, args)
        if args.command == "bench":
            if args.random_weights:
                from hub.errors import ConfigError
                from hub.randbench import run_random_weights

                models = None if args.model == "mini" else [args.model]
                try:
                    report = run_random_weights(
                        models,
                        reduced=args.reduced or None,
                        subset=args.gpu_subset,
                        out=args.out,
                        progress=lambda line: print(line, file=sys.stderr),
                    )
                except ValueError as exc:
                    raise ConfigError(str(exc)) from None
            elif args.explainer:
                from demos.explainer.bench import bench as explainer_bench  # the Learn tab's handlers, via a Hub

                if args.contention:  # beside one busy process, as on a shared machine; timed, not shipped
                    from hub.bench import busy_process

                    with busy_process():
                        report = {
                            "load": "one un-niced CPU-bound process",
                            **explainer_bench(settings=settings, ship=False),
                        }
                else:
                    report = explainer_bench(settings=settings)
            elif args.contention:
                from hub.bench import run_contention

                report = run_contention(settings, model=args.model, repeats=args.repeats, steps=args.steps)
            elif args.ray:
                from hub.bench import run_ray_bench

                report = run_ray_bench(settings, model=args.model)
            else:
                from hub.bench import run_bench

                report = run_bench(settings, model=args.model, repeats=args.repeats, steps=args.steps)
            text = json.dumps(report, indent=2)
            print(text)
            if args.out:
                args.out.write_text(text + "\n")
            return 0
        return asyncio.run(_with_hub(settings, args))
    except LienzoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _bot(settings, args) -> int:
    import os

    if args.print_commands:
        from bots.app import command_payloads

        logging.getLogger("discord").setLevel(logging.ERROR)  # no voice/intents chatter around the JSON
        print(json.dumps(command_payloads(), indent=2, ensure_ascii=False))
        return 0
    token = os.environ.get("DISCORD_TOKEN", "").strip()
    if not token:
        print(
            "error: set DISCORD_TOKEN to the bot's token (Discord developer portal > your app > Bot > Reset Token)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from bots.app import LienzoBot
    from hub.service import Hub

    import discord

    try:
        LienzoBot(Hub.create(settings, recover=True), guild_id=args.guild).run(token, log_handler=None)
    except discord.LoginFailure:
        print(
            "error: Discord refused DISCORD_TOKEN (wrong, reset or revoked); copy the token again from the "
            "developer portal (your app > Bot > Reset Token)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return 0


async def _with_hub(settings, args) -> int:
    from hub.service import Hub

    _check_out(getattr(args, "out", None))
    hub = Hub.create(settings)
    try:
        await {"imagine": _imagine, "mix": _mix, "describe": _describe, "ask": _ask}[args.command](hub, args)
    finally:
        await hub.close()
    return 0


def run() -> None:
    """The `lienzo` command: main(), then the process ends without tearing the interpreter down.

    Freeing torch's, diffusers' and transformers' modules one object at a time takes 2-3 s on 2 cores after the
    work is done (session 29: `lienzo imagine` 15.9-16.6 s, of which 2.1-2.8 s after main returned). What a normal
    exit does that matters still happens, in its order and through CPython's own calls for it: thread pools are
    told to stop and threads that are not daemons are waited for, then the exit handlers run (logging flushes, Ray
    disconnects, temporary folders go), then the standard streams are flushed. Only the teardown itself is
    skipped; every file the commands write is closed before they return. An exception (argparse's usage exit
    included) leaves the normal way, and so does every exit on a Python without those two calls."""
    code = main()
    shutdown, exit_handlers = getattr(threading, "_shutdown", None), getattr(atexit, "_run_exitfuncs", None)
    if shutdown is None or exit_handlers is None:  # a Python without CPython's two calls: the normal exit
        sys.exit(code)
    shutdown()  # as the interpreter's own exit: thread pools told to stop, other threads waited for
    exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
