"""Learn's walkthrough: the bundled mini Kandinsky stage by stage (tokens, embeddings, the prior's steps, every
denoising step, the picture), for a prompt or for one of the visitor's jobs (Explain this image), and the same seed
compared at two guidance values and with another prompt."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from demos.common import HUB_QUEUE, bind, current_origin, refuse, say, start
from hub.types import WalkthroughRequest


def _walk_request(prompt, seed, job_id, index, guidance=None) -> WalkthroughRequest:
    job = (job_id or "").strip() or None
    return WalkthroughRequest(
        prompt or "",
        seed=int(seed or 0),
        job_id=job,
        index=int(index or 1) - 1,
        guidance_scale=None if guidance in (None, "") else float(guidance),
        show_every=1,  # every step: the scrubber shows each one
        origin=current_origin(),
    )


async def explain_walkthrough(hub, prompt, seed, job_id="", index=1):
    """The bundled mini Kandinsky, stage by stage: tokens, embeddings, the prior's steps, every denoising step,
    the image. With a job id: that job's picture (Explain this image), with the job's own settings and seed.

    Args:
        prompt: what to draw (English or Spanish); ignored when a job id is given
        seed: the seed; the same seed gives the same image as the Generate tab
        job_id: a job of yours (or a shared one) drawn from words: explain its picture instead
        index: which picture of that job, 1 to 4
    """
    r = await start(hub.walkthrough(_walk_request(prompt, seed, job_id, index)))
    tokens = pd.DataFrame({"token": list(r.tokens), "id": list(r.token_ids)})
    info = (
        (say("walk_job", job=job_id.strip(), n=int(index), prompt=r.prompt, seed=r.seed) + "  \n" if job_id else "")
        + say("walk_tokens", n=len(r.tokens), limit=r.token_limit)
        + (say("walk_cut", cut=r.cut) if r.cut else "")
        + "  \n"
        + say("walk_cosine", sim=r.text_image_similarity, zero=r.zero_image_similarity)
    )
    emb = pd.DataFrame(
        [
            {"dim": i, "value": v, "embedding": name}
            for name, vals in ((say("text"), r.text_embedding), (say("image (prior)"), r.image_embedding))
            for i, v in enumerate(vals)
        ]
    )
    prior = pd.DataFrame({"step": [s for s, _ in r.prior_steps], "cosine": [c for _, c in r.prior_steps]})
    steps = [(im.resize(_shown(im.size)), say("step", step=s)) for s, im in r.steps]
    return tokens, info, emb, prior, steps, r.image.resize(_shown(r.image.size, 256))


def _shown(size: tuple[int, int], side: int = 128) -> tuple[int, int]:
    """A picture's size scaled so its longer side is `side` pixels, its aspect kept (a 16:9 job stays 16:9)."""
    w, h = size
    k = side / max(w, h)
    return max(1, round(w * k)), max(1, round(h * k))


async def explain_compare(hub, prompt, seed, job_id, index, guidance, other_guidance, other_prompt):
    """The same seed side by side: at two guidance values, and with another prompt.

    Args:
        prompt: what to draw (ignored when a job id is given)
        seed: the seed both sides share
        job_id: a job of yours (or a shared one) drawn from words: compare its picture instead
        index: which picture of that job, 1 to 4
        guidance: the first guidance scale
        other_guidance: the second guidance scale
        other_prompt: another prompt, drawn with the same seed and the first guidance
    """
    if not (other_prompt or "").strip():
        raise refuse("write the other prompt to compare")
    a = await start(hub.walkthrough(_walk_request(prompt, seed, job_id, index, guidance)))
    b = await start(hub.walkthrough(_walk_request(prompt, seed, job_id, index, other_guidance)))
    c = await start(hub.walkthrough(_walk_request(other_prompt, a.seed, "", 1, guidance)))
    note = say(
        "compare_note",
        seed=a.seed,
        g1=a.guidance_scale,
        g2=b.guidance_scale,
        p1=a.prompt,
        p2=c.prompt,
        c1=a.text_image_similarity,
        c2=c.text_image_similarity,
        t1=" ".join(a.tokens[1:-1]),
        t2=" ".join(c.tokens[1:-1]),
    )
    big = _shown(a.image.size, 256)
    return a.image.resize(big), b.image.resize(big), c.image.resize(big), note


def scrubbed(k):
    """The denoising step the scrubber points at, previewed in the steps' gallery."""
    return gr.Gallery(selected_index=max(0, int(k or 1) - 1))


def scrub_range(steps):
    """The scrubber's range: one stop per denoising step shown."""
    n = max(1, len(steps or []))
    return gr.Slider(minimum=1, maximum=n, value=n, step=1, interactive=n > 1)


def _mini_guidance(hub) -> float:
    return next(spec.defaults.guidance_scale for spec, _ in hub.models() if spec.name == "mini")


def to_walkthrough(job_id, index):
    """Explain this image: to Learn's walkthrough, with the job and picture filled in."""
    job = (job_id or "").strip()
    if not job:
        raise refuse("no job id given: paste the id of one of your jobs (History lists them)")
    return gr.Tabs(selected="learn"), gr.Tabs(selected="walkthrough"), job, int(index or 1)


def build(hub, t) -> dict:
    """The walkthrough's controls, inside Learn's tab; returns what Explain this image (Generate, History) fills in
    and runs: the job and picture fields, the walkthrough as (handler, inputs, outputs), its steps and scrubber."""
    gr.Markdown(t("walkthrough_intro"))
    with gr.Row():
        w_prompt = gr.Textbox(value=t("walkthrough_prompt"), label=t("prompt"), scale=3)
        w_seed = gr.Number(value=0, precision=0, label=t("seed"))
        w_job = gr.Textbox(label=t("explain_job"), placeholder=t("explain_job_hint"), elem_id="walk-job")
        w_index = gr.Number(value=1, precision=0, minimum=1, maximum=4, label=t("image_n"))
        w_go = gr.Button(t("run"), variant="primary", elem_id="walk-run")
    w_info = gr.Markdown(label="details", elem_id="walk-info")
    with gr.Row():
        w_tokens = gr.Dataframe(label=t("tokens"), max_height=260)
        w_emb = gr.LinePlot(  # two lines over the same dimensions: compared value by value, not stacked
            x="dim",
            y="value",
            color="embedding",
            label=t("embeddings"),
            height=260,
            elem_classes=["lienzo-plot"],  # its legend kept in view (demos/app.py CSS)
            x_title=t("axis_dim"),
            y_title=t("axis_value"),
            color_title=t("axis_embedding"),
        )
        w_prior = gr.LinePlot(
            x="step",
            y="cosine",
            label=t("prior_steps_plot"),
            height=260,
            elem_classes=["lienzo-plot"],  # its legend kept in view (demos/app.py CSS)
            x_title=t("axis_prior_step"),
            y_title=t("axis_cosine"),
            y_lim=[-1, 1],
        )
    w_steps = gr.Gallery(label=t("denoising"), columns=10, height=220, object_fit="contain", format="png")
    w_scrub = gr.Slider(1, 25, value=25, step=1, label=t("scrub"), elem_id="walk-scrub")
    w_final = gr.Image(label=t("final_image"), height=256, format="png", elem_id="walk-final")
    with gr.Accordion(t("compare_title"), open=False):
        with gr.Row():
            w_g1 = gr.Number(value=_mini_guidance(hub), label=t("guidance_a"))
            w_g2 = gr.Number(value=1.0, label=t("guidance_b"))
            w_other = gr.Textbox(value=t("compare_prompt"), label=t("other_prompt"), scale=3)
            w_cmp = gr.Button(t("compare_run"))
        with gr.Row():
            w_img1 = gr.Image(label=t("at_guidance_a"), height=220, format="png")
            w_img2 = gr.Image(label=t("at_guidance_b"), height=220, format="png")
            w_img3 = gr.Image(label=t("with_other_prompt"), height=220, format="png")
        w_cmp_note = gr.Markdown(label="note")
    walk_inputs = [w_prompt, w_seed, w_job, w_index]
    walk_outputs = [w_tokens, w_info, w_emb, w_prior, w_steps, w_final]
    w_go.click(
        bind(hub, explain_walkthrough), walk_inputs, walk_outputs, api_name="explain_walkthrough", **HUB_QUEUE
    ).then(scrub_range, [w_steps], [w_scrub], api_visibility="private")
    w_scrub.input(scrubbed, [w_scrub], [w_steps], api_visibility="private", show_progress="hidden")
    w_cmp.click(
        bind(hub, explain_compare),
        [*walk_inputs, w_g1, w_g2, w_other],
        [w_img1, w_img2, w_img3, w_cmp_note],
        api_name="explain_compare",
        **HUB_QUEUE,
    )
    return {
        "job": w_job,
        "index": w_index,
        "walk": (bind(hub, explain_walkthrough), walk_inputs, walk_outputs),
        "steps": w_steps,
        "scrub": w_scrub,
    }
