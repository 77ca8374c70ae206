"""What the tabs share: who the user is, running a Hub job with a progress bar and previews."""

from __future__ import annotations

from contextlib import contextmanager

import gradio as gr

from hub.errors import LienzoError
from hub.types import Origin

# Events that run models have no Gradio concurrency limit: every request reaches the Hub at once, and the Hub's
# scheduler alone decides order, fairness, caps and batching (and answers with its own messages).
HUB_QUEUE = {"concurrency_limit": None}


def origin(request: gr.Request | None) -> Origin:
    """Each browser session is one user for fairness and history (a logged-in name when there is one)."""
    if request is None:
        return Origin(user="web:anonymous", surface="web")
    name = getattr(request, "username", None) or request.session_hash or "anonymous"
    return Origin(user=f"web:{name}", surface="web")


def current_origin() -> Origin:
    """The origin of the Gradio event being handled, for helpers that are not handed its request (Gradio keeps
    the request in a context variable for the event's whole run)."""
    from gradio.context import LocalContext

    return origin(LocalContext.request.get(None))


async def follow(job, progress: gr.Progress):
    """Yield previews while the job runs (and drive the progress bar); finally yield its result."""
    async for event in job.events():
        if event.stage == "queued" and event.position:
            progress(0, desc=f"queued: position {event.position}")
        elif event.total:
            progress((event.step, event.total), desc=event.stage)
        if event.preview is not None:
            yield event.preview, None
    with user_errors():
        yield None, await job.result()


async def gallery_updates(job, progress: gr.Progress, last=lambda result: result.job_id):
    """(gallery, details, last(result)) updates for a job: previews while it runs, then its images."""
    async for preview, result in follow(job, progress):
        if preview is not None:
            yield [(preview, "preview")], gr.skip(), gr.skip()
        else:
            yield gallery_items(result), details(result), last(result)


@contextmanager
def user_errors():
    """The hub's typed errors, raised inside, reach the user as Gradio messages (the text says what was wrong
    and what is allowed); anything else stays a bug. Works in plain, async and generator handlers alike."""
    try:
        yield
    except LienzoError as exc:
        raise gr.Error(str(exc)) from None


async def start(coro):
    """Await a Hub call, turning its typed errors into messages the user reads."""
    with user_errors():
        return await coro


def gallery_items(result) -> list[tuple[str, str]]:
    items = [(str(result.grid), "grid")] if result.grid else []
    return items + [(str(p), f"{i + 1} · seed {s}") for i, (p, s) in enumerate(zip(result.images, result.seeds))]


def details(result) -> str:
    lines = [f"**job** `{result.job_id}` · **model** {result.model} · **size** {result.width}×{result.height}",
             f"**seeds** {', '.join(map(str, result.seeds))}"]
    lines += [f"⚠️ {n}" for n in result.notes]
    return "  \n".join(lines)
