"""Generate: prompt (with Midjourney flags) -> grid and images, live previews, then vary or upscale."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import gradio as gr

from demos.tabs import edit
from demos.common import HUB_QUEUE, bind, details, gallery_items, gallery_updates, origin, shown_as, start
from hub.errors import LienzoError
from hub.types import (
    ASPECTS,
    LIVE_PAUSE_S,
    SCHEDULERS,
    EnhanceRequest,
    ExpandRequest,
    ImagineRequest,
    UpscaleRequest,
    VaryRequest,
)

SCHEDULER_CHOICES = ["default", *SCHEDULERS]


async def imagine(
    hub,
    prompt,
    negative,
    model,
    aspect,
    steps,
    prior_steps,
    guidance,
    seed,
    randomize,
    num_images,
    scheduler,
    draft=False,
    request: gr.Request = None,
    progress=gr.Progress(),
):
    """Generate images from a prompt with Midjourney-style flags (--ar, --seed, --no, --chaos, --draft, ...).

    Args:
        prompt: what to draw, optionally with flags such as --ar 16:9 --seed 7 --no text
        negative: what to keep out of the image
        model: model name from the model list
        aspect: aspect ratio such as 16:9 (ignored when the prompt has --ar)
        steps: decoder denoising steps
        prior_steps: prior denoising steps (Kandinsky models)
        guidance: classifier-free guidance scale
        seed: seed of the first image (the others use seed+1, seed+2, ...)
        randomize: pick a random seed instead
        num_images: how many images (1-4)
        scheduler: diffusers scheduler class name, or default
        draft: a fast few-step draft (the model's draft steps and solver replace steps, prior steps and
            scheduler); enhance one of its images afterwards
    """
    req = _request(
        prompt,
        negative,
        model,
        aspect,
        seed,
        randomize,
        num_images,
        origin(request),
        num_inference_steps=int(steps) if steps and not draft else None,
        prior_num_inference_steps=int(prior_steps) if prior_steps and not draft else None,
        guidance_scale=float(guidance) if guidance is not None else None,
        scheduler=None if draft or scheduler in (None, "", "default") else scheduler,
        preview=True,
        draft=bool(draft),
    )
    async for update in gallery_updates(await start(hub.imagine(req)), progress):
        yield update


def _request(prompt, negative, model, aspect, seed, randomize, num_images, who, **more) -> ImagineRequest:
    """The form's fields every Generate request shares, as an ImagineRequest with `more` on top."""
    return ImagineRequest(
        prompt,
        negative_prompt=negative or "",
        model=model or None,
        num_images=int(num_images),
        aspect=aspect or None,
        seed=None if randomize else int(seed),
        origin=who,
        **more,
    )


_typed: OrderedDict[str, float] = OrderedDict()  # visitor -> the time their latest keystroke was typed
# each keystroke's event carries the time the browser saw it (the page's clock): events may reach the handler out
# of order under load, and the last key typed, not the last event handled, must be the one drawn
STAMP_KEYSTROKE = (
    "(...values) => { values[values.length - 1] = performance.timeOrigin + performance.now(); return values; }"
)


async def live_redraw(
    hub, prompt, negative, model, aspect, seed, randomize, num_images, live, typed_at, request: gr.Request = None
):
    """With Live on: after each pause in typing, a draft of the prompt; a newer keystroke drops this one (here,
    before it reaches the Hub, or in the Hub's queue, which keeps one live job a visitor). A half-typed prompt
    that does not parse yet draws nothing rather than showing an error."""
    nothing = gr.skip(), gr.skip(), gr.skip()
    if not live or not (prompt or "").strip():
        return nothing
    me = origin(request)
    typed_at = float(typed_at or 0)
    if typed_at < _typed.get(me.user, 0.0):  # a later key already came in
        return nothing
    _typed[me.user] = typed_at
    _typed.move_to_end(me.user)
    while len(_typed) > 10_000:
        _typed.popitem(last=False)
    await asyncio.sleep(LIVE_PAUSE_S)  # the debounce: only the keystroke that ends a pause goes on
    if _typed.get(me.user) != typed_at:
        return nothing
    req = _request(prompt, negative, model, aspect, seed, randomize, num_images, me, live=True)
    try:
        result = await (await hub.imagine(req)).result()
    except LienzoError:  # replaced by a newer redraw, or a prompt still being typed ("--ar 16:")
        return nothing
    return gallery_items(result), details(result), result.job_id


async def expand_prompt(hub, prompt, request: gr.Request):
    """Enhance a short prompt into a full scene description with the text model.

    Args:
        prompt: a short idea, e.g. "red circle"
    """
    job = await start(hub.expand(ExpandRequest(prompt, origin=origin(request))))
    result = await start(job.result())
    return result.text, f"added: *{result.added}*" if result.added else ""


async def _vary(hub, job_id, index, strength, request: gr.Request, progress=gr.Progress()):
    req = VaryRequest(job_id, int(index) - 1, strength, preview=True, origin=origin(request))
    async for update in gallery_updates(await start(hub.vary(req)), progress):
        yield update


async def vary(hub, job_id, index, request: gr.Request, progress=gr.Progress()):
    """New images close to image `index` (1-4) of job `job_id`, keeping its composition."""
    async for out in _vary(hub, job_id, index, "subtle", request, progress):
        yield out


async def vary_strong(hub, job_id, index, request: gr.Request, progress=gr.Progress()):
    """New images with the idea of image `index` (1-4) of job `job_id`, in a new composition."""
    async for out in _vary(hub, job_id, index, "strong", request, progress):
        yield out


async def upscale(hub, job_id, index, request: gr.Request, progress=gr.Progress()):
    """Image `index` (1-4) of job `job_id` at twice the size, re-detailed."""
    req = UpscaleRequest(job_id, int(index) - 1, preview=True, origin=origin(request))
    async for update in gallery_updates(await start(hub.upscale(req)), progress):
        yield update


async def enhance_draft(hub, job_id, index, request: gr.Request, progress=gr.Progress()):
    """Image `index` (1-4) of draft job `job_id` drawn again at full quality: its seed and image embedding, the
    model's full steps."""
    req = EnhanceRequest(job_id, int(index) - 1, preview=True, origin=origin(request))
    async for update in gallery_updates(await start(hub.enhance(req)), progress):
        yield update


def follow_model(hub, name):
    """A model's own steps and guidance (the mini draws best at guidance 2, SD 1.5 at 7.5, SDXL Turbo in 1 step
    at 0)."""
    d = next((spec.defaults for spec, _ in hub.models() if spec.name == name), None)
    if d is None:
        return gr.update(), gr.update(), gr.update()
    return d.num_inference_steps, d.prior_num_inference_steps, d.guidance_scale


def build(hub, t) -> dict:
    runnable = [spec.name for spec, avail in hub.models() if avail.ok and spec.can("text2img")]
    default = hub.default_image_model
    presets = {spec.name: spec.defaults for spec, _ in hub.models()}  # each model's own steps and guidance
    # --- layout ---
    with gr.Row():
        with gr.Column(scale=2):
            prompt = gr.Textbox(label=t("prompt"), placeholder=t("prompt_hint"), lines=2, elem_id="prompt")
            added = gr.Markdown(label="added_words")
            negative = gr.Textbox(label=t("negative"))
            with gr.Row():
                model = gr.Dropdown(runnable, value=default, label=t("model"))
                aspect = gr.Dropdown(ASPECTS, value="1:1", label=t("aspect"))
                num_images = gr.Slider(1, 4, value=4, step=1, label=t("num_images"))
            with gr.Accordion(t("advanced"), open=False):
                with gr.Row():
                    d = presets[default]
                    steps = gr.Slider(1, 100, value=d.num_inference_steps, step=1, label=t("steps"))
                    prior_steps = gr.Slider(1, 100, value=d.prior_num_inference_steps, step=1, label=t("prior_steps"))
                    guidance = gr.Slider(0, 20, value=d.guidance_scale, step=0.5, label=t("guidance"))
                with gr.Row():
                    seed = gr.Number(value=0, precision=0, label=t("seed"))
                    randomize = gr.Checkbox(value=True, label=t("randomize"))
                    scheduler = gr.Dropdown(SCHEDULER_CHOICES, value="default", label=t("scheduler"))
            with gr.Row():
                go = gr.Button(t("generate"), variant="primary", elem_id="generate")
                draft = gr.Checkbox(value=False, label=t("draft"), elem_id="draft")
                live = gr.Checkbox(value=False, label=t("live"), elem_id="live")
                typed_at = gr.Number(value=0, visible=False, label="typed_at")
                enhance = gr.Button(t("enhance"))
        with gr.Column(scale=3) as column:
            gallery = gr.Gallery(
                label=t("output"),
                columns=3,
                format="png",
                height="auto",
                object_fit="contain",
                elem_id="gallery",
                elem_classes=shown_as(hub),
            )
            info = gr.Markdown(label="details", elem_id="details")
            job_id = gr.Textbox(label=t("job_id"), interactive=True, elem_id="job-id")
            with gr.Row():
                index = gr.Slider(1, 4, value=1, step=1, label=t("image_index"))
                subtle = gr.Button(t("vary_subtle"), elem_id="vary")
                strong = gr.Button(t("vary_strong"))
                up = gr.Button(t("upscale"))
                better = gr.Button(t("enhance_draft"), elem_id="enhance-draft")
    with gr.Accordion(t("models_here"), open=False):
        gr.Markdown(t("models_table"), elem_classes=["lienzo-table"])

    # --- wiring ---
    inputs = [prompt, negative, model, aspect, steps, prior_steps, guidance, seed, randomize, num_images, scheduler]
    inputs.append(draft)
    outputs = [gallery, info, job_id]

    follow = bind(hub, follow_model)
    model.change(follow, [model], [steps, prior_steps, guidance], api_visibility="private", queue=False)
    job = {**HUB_QUEUE, "show_progress_on": [gallery]}  # one progress bar, on the pictures (not on the job id too)
    go.click(bind(hub, imagine), inputs, outputs, api_name="imagine", **job)
    prompt.submit(bind(hub, imagine), inputs, outputs, api_name="imagine_submit", api_visibility="private", **job)
    live_inputs = [prompt, negative, model, aspect, seed, randomize, num_images, live, typed_at]
    prompt.input(
        bind(hub, live_redraw),
        live_inputs,
        outputs,
        js=STAMP_KEYSTROKE,
        api_visibility="private",
        show_progress="hidden",
        trigger_mode="multiple",  # every keystroke reaches the server: the debounce there keeps the last
        **HUB_QUEUE,
    )
    enhance.click(bind(hub, expand_prompt), [prompt], [prompt, added], api_name="expand_prompt", **HUB_QUEUE)
    subtle.click(bind(hub, vary), [job_id, index], outputs, api_name="vary", **job)
    strong.click(bind(hub, vary_strong), [job_id, index], outputs, api_name="vary_strong", **job)
    up.click(bind(hub, upscale), [job_id, index], outputs, api_name="upscale", **job)
    better.click(bind(hub, enhance_draft), [job_id, index], outputs, api_name="enhance_draft", **job)
    with column:  # the editing panel under the gallery
        shared = {"gallery": gallery, "job_id": job_id, "index": index, "outputs": outputs, "job": job}
        panel = edit.build(hub, t, shared)
    return {
        "prompt": prompt,
        "negative": negative,
        "model": model,
        "steps": steps,
        "prior_steps": prior_steps,
        "guidance": guidance,
        "seed": seed,
        "randomize": randomize,
        "draft": draft,
        "job_id": job_id,
        "index": index,
        **panel,
    }
