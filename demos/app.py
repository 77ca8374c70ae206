"""The web hub: build_app(hub) -> gr.Blocks with one tab per module in demos/tabs/."""

from __future__ import annotations

import contextlib

import gradio as gr

from demos import identity
from demos.i18n import STRINGS, lessons
from demos.tabs import chat, compare, explainer, generate, history, mix
from hub.explainer import TEXTS


def build_app(hub, login: bool = False) -> tuple[gr.Blocks, gr.I18n]:
    """The Blocks app and its translations (pass both to `launch`). login: show Hugging Face's sign-in button
    (a Space with `hf_oauth: true`): signed-in visitors keep their history across browsers."""
    texts = lessons(TEXTS)
    i18n = gr.I18n(**{lang: {**strings, **texts.get(lang, {})} for lang, strings in STRINGS.items()})
    with gr.Blocks(title="Lienzo") as demo:
        gr.Markdown(i18n("title"))
        if login:
            gr.LoginButton()
        gr.Markdown(f"`{hub.default_image_model}` · " + " · ".join(
            f"{s.name}: {a.status}" for s, a in hub.models() if s.name == hub.default_image_model))
        with gr.Tabs():
            with gr.Tab(i18n("tab_generate"), id="generate"):
                fields = generate.build(hub, i18n)
            with gr.Tab(i18n("tab_mix"), id="mix"):
                mix.build(hub, i18n)
            with gr.Tab(i18n("tab_explainer"), id="learn"):
                explainer.build(hub, i18n)
            with gr.Tab(i18n("tab_chat"), id="chat"):
                chat.build(hub, i18n)
            with gr.Tab(i18n("tab_history"), id="history"):
                history.build(hub, i18n, fields)
            with gr.Tab(i18n("tab_compare"), id="compare"):
                compare.build(hub, i18n)
    # No max_size and no limit on the model events (demos.common.HUB_QUEUE): every job reaches the Hub, whose
    # queue has the caps (LIENZO_MAX_QUEUE, LIENZO_USER_MAX_JOBS) and says so in its own words. Light events
    # (history, PNG info) share Gradio's default pool.
    demo.queue(default_concurrency_limit=8)
    return demo, i18n


def lifespan(hub):
    """The web server's start-up: the Hub's queue starts on the server's event loop and takes over the jobs a
    server that died on this data dir left (they run again without anyone asking)."""

    @contextlib.asynccontextmanager
    async def run(app):
        await hub.start()
        yield

    return run


def serving_options(hub, i18n) -> dict:
    """What every launch needs: translations, the Hub started with the server, signed visitor ids
    (demos/identity.py) and the upload limit, enforced while the upload streams in, before anything is decoded.
    No allowed_paths: nothing of LIENZO_DATA_DIR is served (the job database, other users' images); results
    reach their requester as copies under unguessable names (demos.common.served)."""
    from starlette.middleware import Middleware

    signer = identity.Signer(hub.secret_key())
    return {"i18n": i18n, "show_error": True, "max_file_size": hub.settings.max_image_bytes,
            "app_kwargs": {"lifespan": lifespan(hub), "middleware": [Middleware(identity.IdentityMiddleware,
                                                                                 signer=signer)]}}


def launch(hub, host: str = "127.0.0.1", port: int = 7860, share: bool = False, mcp: bool = False,
           block: bool = True):
    demo, i18n = build_app(hub)
    demo.launch(server_name=host, server_port=port, share=share, mcp_server=mcp, prevent_thread_lock=not block,
                **serving_options(hub, i18n))
    return demo


async def serve_with_bot(hub, token: str, host: str = "127.0.0.1", port: int = 7860, mcp: bool = False,
                         guild_id: int | None = None, ready=None, gateway: bool = True, web_ready=None) -> None:
    """The web hub and the Discord bot in one process, on one event loop, sharing one Hub:
    one copy of the weights, one queue, round-robin across web and Discord users."""
    import asyncio
    import logging

    import aiohttp
    import discord
    import uvicorn
    from fastapi import FastAPI

    from bots.app import LienzoBot

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
    app = gr.mount_gradio_app(FastAPI(), demo, path="/", mcp_server=mcp, server_name=host, server_port=port,
                              **serving_options(hub, i18n))
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
