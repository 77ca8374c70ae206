"""What the tabs share: who the user is, running a Hub job with a progress bar and previews."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import os
import secrets
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import gradio as gr

from demos import identity
from demos.i18n import SAY, WORDS
from hub.errors import LienzoError, in_language
from hub.types import Origin

# Events that run models have no Gradio concurrency limit: every request reaches the Hub at once, and the Hub's
# scheduler alone decides order, fairness, caps and batching (and answers with its own messages).
HUB_QUEUE = {"concurrency_limit": None}


def origin(request: gr.Request | None) -> Origin:
    """Who is asking, for fairness, ownership and history: the logged-in name (Gradio auth, Hugging Face OAuth),
    else the visitor id the server signed (demos/identity.py), never anything the client picked."""
    name = getattr(request, "username", None) if request is not None else None
    if name:
        return Origin(user=f"web:user:{name}", surface="web")
    hf_name = _hugging_face_login(request)
    if hf_name:
        return Origin(user=f"web:hf:{hf_name}", surface="web")
    uid = identity.visitor(request) if request is not None else None
    return Origin(user=f"web:{uid}" if uid else "web:anonymous", surface="web")


def served(path) -> str:
    """A stored image, handed to Gradio so that it serves a copy under a name nobody can guess.

    The job store's folder is never served (no `allowed_paths`): Gradio copies what a handler returns into its
    cache under a random per-process hash, and only the one who was answered learns that URL. Gradio copies
    only from its working, temp and allowed folders, so the file is first linked into a staging folder there."""
    src = Path(path)
    stage = Path(tempfile.gettempdir()) / f"lienzo-out-{os.getpid()}"
    stage.mkdir(mode=0o700, exist_ok=True)
    _sweep(stage)
    dest = stage / f"{secrets.token_hex(8)}-{src.name}"
    try:
        os.link(src, dest)
    except OSError:  # another file system
        shutil.copyfile(src, dest)
    return str(dest)


_swept = [0.0]


def _sweep(stage: Path, age: float = 600.0) -> None:
    """Staged links older than `age` seconds go (Gradio has copied them long since)."""
    now = time.time()
    if now - _swept[0] < 60:
        return
    _swept[0] = now
    for f in stage.iterdir():
        with contextlib.suppress(OSError):
            if now - f.stat().st_mtime > age:
                f.unlink()


def _hugging_face_login(request) -> str | None:
    """The Hugging Face account signed in with gr.LoginButton (a Space with `hf_oauth: true`), if any."""
    if request is None:
        return None
    try:
        info = request.session.get("oauth_info") or {}
    except (AssertionError, AttributeError, KeyError, TypeError):  # no session middleware: OAuth is off
        return None
    return (info.get("userinfo") or {}).get("preferred_username")


_SPEAKING: contextvars.ContextVar[str] = contextvars.ContextVar("lienzo_speaking", default="en")


@contextmanager
def speaking(lang: str):
    """Handlers run outside any request (`lienzo bench --explainer` records the Learn tab's runs) say things in
    `lang` meanwhile."""
    token = _SPEAKING.set(lang)
    try:
        yield
    finally:
        _SPEAKING.reset(token)


def language(request=None) -> str:
    """The visitor's language, "es" or "en", from the browser's Accept-Language (the first of the two it
    prefers); API clients that send none get English. Without a request: the Gradio event being handled; with
    no event either, the language `speaking` set (English unless)."""
    if request is None:
        from gradio.context import LocalContext

        request = LocalContext.request.get(None)
        if request is None:
            return _SPEAKING.get()
    headers = getattr(request, "headers", None) or {}
    for part in (headers.get("accept-language") or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in SAY:
            return code
    return "en"


def refuse(message: str) -> gr.Error:
    """A message for the visitor (raise it), in their language."""
    return gr.Error(in_language(message, language()))


def say(key: str, lang: str | None = None, **values) -> str:
    """One of the server's own texts (demos.i18n.SAY) in the visitor's language."""
    return SAY[lang or language()][key].format(**values)


def word(value: str, lang: str | None = None) -> str:
    """A value shown as it is in English (a job's kind or status, a model's availability), in the visitor's
    language."""
    return WORDS.get(lang or language(), {}).get(value, value)


def current_origin() -> Origin:
    """The origin of the Gradio event being handled, for helpers that are not handed its request (Gradio keeps
    the request in a context variable for the event's whole run)."""
    from gradio.context import LocalContext

    return origin(LocalContext.request.get(None))


class ImageFile(gr.Image):
    """An image input handed to the handler as its uploaded file's path, unopened.

    gr.Image(type="pil") decodes every upload before the handler runs, so a 236 KB PNG of 9000x9000 pixels would
    cost 600 MiB first, and an unreadable file fails inside Gradio with a temp path in its message. This one only
    passes the path on: the Hub checks the file's size and the pixel count in its header before decoding
    anything, and answers a bad file in words. The browser draws it as Gradio's own Image component."""

    is_template = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, type="filepath", image_mode=None, format="png", **kwargs)

    def get_config(self, cls=None):
        # Gradio reads a component's settings (label, height, sources ...) by the parameters of its class's
        # __init__; this one's are *args, **kwargs, so read them by gr.Image's, which it passes them to
        return super().get_config(cls or gr.Image)

    def preprocess(self, payload):
        if payload is None:
            return None
        if payload.url and payload.url.startswith("data:"):  # an API caller sent base64 inline
            raise refuse("send the image as a file (gradio_client: handle_file(path)), not as inline base64")
        return payload.path


async def follow(job, progress: gr.Progress):
    """Yield previews while the job runs (and drive the progress bar); finally yield its result."""
    async for event in job.events():
        if event.stage == "queued" and event.position:
            progress(0, desc=say("queued", position=event.position))
        elif event.total:
            progress((event.step, event.total), desc=word(event.stage), unit=say("steps"))
        if event.preview is not None:
            yield event.preview, None
    with user_errors():
        yield None, await job.result()


# Results this small (the mini draws 64 px) are shown scaled up with crisp pixels, not blurred (CSS in demos/app.py).
# The class is the gallery's own, chosen from the default model's size: an update would reach API callers as data.
SMALL_SIDE = 160
PIXELS = "lienzo-pixels"


def shown_as(hub) -> list[str]:
    d = next(spec.defaults for spec, _ in hub.models() if spec.name == hub.default_image_model)
    return [PIXELS] if max(d.width, d.height) <= SMALL_SIDE else []


async def gallery_updates(job, progress: gr.Progress, last=lambda result: result.job_id):
    """(gallery, details, last(result)) updates for a job: previews while it runs, then its images."""
    async for preview, result in follow(job, progress):
        if preview is not None:
            yield [(preview, say("preview"))], gr.skip(), gr.skip()
        else:
            yield gallery_items(result), details(result), last(result)


@contextmanager
def user_errors():
    """The hub's typed errors, raised inside, reach the user as Gradio messages (the text says what was wrong
    and what is allowed); anything else stays a bug. Works in plain, async and generator handlers alike."""
    try:
        yield
    except LienzoError as exc:
        raise refuse(str(exc)) from None


async def start(coro):
    """Await a Hub call, turning its typed errors into messages the user reads."""
    with user_errors():
        return await coro


def gallery_items(result) -> list[tuple[str, str]]:
    items = [(served(result.grid), say("grid"))] if result.grid else []
    size = f"{result.width}×{result.height}"
    return items + [
        (served(p), say("image", n=i + 1, seed=s, size=size))
        for i, (p, s) in enumerate(zip(result.images, result.seeds))
    ]


def details(result) -> str:
    lang = language()
    lines = [
        say("details", lang, job=result.job_id, model=result.model, size=f"{result.width}×{result.height}"),
        say("seeds", lang, seeds=", ".join(map(str, result.seeds))),
    ]
    lines += [f"⚠️ {in_language(n, lang)}" for n in result.notes]
    return "  \n".join(lines)


def bind(hub, handler):
    """A module-level handler `handler(hub, ...)` as Gradio calls it: the same parameters less `hub`, the same
    kind (generator, coroutine or plain function) and the same docstring (the API and MCP descriptions read
    them). Handlers stay plain functions a test can call with any Hub."""
    if inspect.isasyncgenfunction(handler):

        async def bound(*args, **kwargs):
            async for out in handler(hub, *args, **kwargs):
                yield out
    elif inspect.iscoroutinefunction(handler):

        async def bound(*args, **kwargs):
            return await handler(hub, *args, **kwargs)
    else:

        def bound(*args, **kwargs):
            return handler(hub, *args, **kwargs)

    functools.update_wrapper(bound, handler)
    sig = inspect.signature(handler)
    bound.__signature__ = sig.replace(parameters=list(sig.parameters.values())[1:])
    return bound
