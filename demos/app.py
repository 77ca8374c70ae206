"""The web hub: build_app(hub) -> gr.Blocks with one tab per module in demos/tabs/."""

from __future__ import annotations

import contextlib

import gradio as gr

from demos import agents, identity
from demos.common import bind, say, word
from demos.i18n import SAY, STRINGS, lessons
from demos.tabs import chat, compare, edit, explainer, generate, history, mix, walkthrough
from hub.errors import in_language
from hub.service import learn_catalogue


def build_app(hub, login: bool = False) -> tuple[gr.Blocks, gr.I18n]:
    """The Blocks app and its translations (pass both to `launch`). login: show Hugging Face's sign-in button
    (a Space with `hf_oauth: true`): signed-in visitors keep their history across browsers."""
    texts = lessons(learn_catalogue().texts)
    built = {lang: {**strings, **texts.get(lang, {}), **_about_models(hub, lang)} for lang, strings in STRINGS.items()}
    i18n = gr.I18n(**built)
    with gr.Blocks(title="Lienzo") as demo:
        gr.Markdown(i18n("title"))
        if login:
            gr.LoginButton()
        gr.Markdown(i18n("model_line"))
        with gr.Tabs() as tabs:
            with gr.Tab(i18n("tab_generate"), id="generate"):
                fields = generate.build(hub, i18n)
            with gr.Tab(i18n("tab_mix"), id="mix"):
                mix.build(hub, i18n)
            with gr.Tab(i18n("tab_explainer"), id="learn"):
                learn = explainer.build(hub, i18n)
            with gr.Tab(i18n("tab_chat"), id="chat"):
                chat.build(hub, i18n)
            with gr.Tab(i18n("tab_history"), id="history") as history_tab:
                explain_history = history.build(hub, i18n, fields, history_tab)
            with gr.Tab(i18n("tab_compare"), id="compare"):
                compare.build(hub, i18n)
        # Explain this image, from Generate's picked picture or History's job: Learn's walkthrough, filled in and run
        handler, inputs, outputs = learn["walk"]
        for button, job, index in (
            (fields["explain"], fields["job_id"], fields["index"]),
            (explain_history["button"], explain_history["job_id"], explain_history["index"]),
        ):
            button.click(
                walkthrough.to_walkthrough,
                [job, index],
                [tabs, learn["tabs"], learn["job"], learn["index"]],
                api_visibility="private",
            ).success(handler, inputs, outputs, api_visibility="private").then(
                walkthrough.scrub_range, [learn["steps"]], [learn["scrub"]], api_visibility="private"
            )
        # Learn opens on the shipped run of each section, in the visitor's language
        demo.load(explainer.shipped_page, None, learn["shipped"], api_visibility="private", queue=False)
        # a link to a job's editor (the bot's Vary (Region) offers one): /?job=<id>&image=<n>
        demo.load(
            bind(hub, edit.from_link),
            None,
            [fields["job_id"], fields["index"], fields["edit"]],
            api_visibility="private",
            queue=False,
        )
    # No max_size and no limit on the model events (demos.common.HUB_QUEUE): every job reaches the Hub, whose
    # queue has the caps (LIENZO_MAX_QUEUE, LIENZO_USER_MAX_JOBS) and says so in its own words. Light events
    # (history, PNG info) share Gradio's default pool.
    demo.queue(default_concurrency_limit=8)
    return demo, i18n


def _about_models(hub, lang: str) -> dict[str, str]:
    """The texts about this server's models, written once per language when the app is built: the header's
    default model and the table of every model and where it runs."""
    models = hub.models()
    status = next(a.status for s, a in models if s.name == hub.default_image_model)
    rows = [  # the bundled models' reasons name a folder of the server: the page says what it means instead
        f"| {s.name} | {say('yes' if a.ok else 'no', lang)} | "
        f"{say(f'why_{a.status}', lang) if f'why_{a.status}' in SAY[lang] else in_language(a.reason, lang)} |"
        for s, a in models
    ]
    return {
        "model_line": say("model_line", lang, model=hub.default_image_model, status=word(status, lang)),
        "models_table": "\n".join([say("models_table", lang), "|---|---|---|", *rows]),
    }


def lifespan(hub, mcp: bool = False):
    """The web server's start-up: the Hub's queue starts on the server's event loop and takes over the jobs a
    server that died on this data dir left (they run again without anyone asking); with `mcp`, the agents' tools
    (demos/agents/) are served at /gradio_api/mcp/."""

    @contextlib.asynccontextmanager
    async def run(app):
        if mcp:
            agents.install(app, hub)
        await hub.start()
        yield

    return run


# Small results (demos.common.PIXELS) scale up with crisp pixels instead of a blur
CSS = (
    ".lienzo-pixels img { image-rendering: pixelated; }\n"
    # tables of prose (Compare, Architectures, the models): words wrap whole, hyphenated in the page's language,
    # and a table wider than the page scrolls instead of breaking "Desarrollador" mid-word
    ".lienzo-table table { display: block; overflow-x: auto; }\n"
    ".lienzo-table td, .lienzo-table th { word-break: normal; overflow-wrap: normal; hyphens: auto; min-width: 7em; }\n"
    # History's thumbnails: a grid of small whole pictures however few there are (Gradio widens a lone one to the
    # page's width and crops it square)
    ".lienzo-thumbs .grid-container { grid-template-columns: repeat(auto-fill, 140px) !important; }\n"
    ".lienzo-thumbs .thumbnail-item { aspect-ratio: auto !important; width: 140px; height: 140px; }\n"
    # a plot with a label and a colour legend: Gradio 6.31 fits the chart to the block's height and clips the
    # legend below it; the block grows by the legend's height instead
    ".lienzo-plot { box-sizing: content-box !important; padding-bottom: 2.4em !important; "
    "width: calc(100% - 2 * var(--block-padding)) !important; }"
)


def serving_options(hub, i18n, mcp: bool = False) -> dict:
    """What every launch needs: translations, the Hub started with the server, signed visitor ids
    (demos/identity.py) and the upload limit, enforced while the upload streams in, before anything is decoded.
    No allowed_paths: nothing of LIENZO_DATA_DIR is served (the job database, other users' images); results
    reach their requester as copies under unguessable names (demos.common.served)."""
    from starlette.middleware import Middleware

    signer = identity.Signer(hub.secret_key())
    return {
        "i18n": i18n,
        "css": CSS,
        "show_error": True,
        "max_file_size": hub.settings.max_image_bytes,
        "app_kwargs": {
            "lifespan": lifespan(hub, mcp),
            "middleware": [Middleware(identity.IdentityMiddleware, signer=signer)],
        },
    }


def launch(hub, host: str = "127.0.0.1", port: int = 7860, share: bool = False, mcp: bool = False, block: bool = True):
    demo, i18n = build_app(hub)
    demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        prevent_thread_lock=not block,
        **serving_options(hub, i18n, mcp),
    )
    return demo
