"""History: this session's past jobs from the store, reuse their settings; and PNG info for any PNG."""

from __future__ import annotations

import gradio as gr

from demos.common import bind, language, origin, refuse, say, served, shown_as, user_errors, word


def history(hub, request: gr.Request):
    """This browser session's jobs, newest first (thumbnails and settings)."""
    jobs = hub.list_jobs(user=origin(request).user, limit=40)
    lang = language(request)
    thumbs = [
        (served(j.grid or j.images[0]), f"{j.id} · {word(j.kind, lang)}")
        for j in jobs
        if j.status == "done" and j.images
    ]
    rows = [
        [
            j.id,
            word(j.kind, lang),
            word(j.status, lang),
            j.model,
            j.request.get("prompt", ""),
            ", ".join(map(str, j.seeds[:4])),
            j.created_at.strftime("%Y-%m-%d %H:%M"),
            "✓" if j.shared else "",
        ]
        for j in jobs
    ]
    return thumbs, {"headers": [say(f"col_{c}", lang) for c in COLUMNS], "data": rows}


COLUMNS = ("id", "kind", "status", "model", "prompt", "seeds", "when", "shared")


def reuse(hub, job_id, request: gr.Request):
    """The settings of a job (yours, or one shared with you), sent to Generate."""
    with user_errors():
        job = hub.get_job(job_id, origin(request))
    r = job.request
    return (
        r.get("prompt", ""),
        r.get("negative_prompt", ""),
        job.model,
        r.get("num_inference_steps"),
        r.get("prior_num_inference_steps"),
        r.get("guidance_scale"),
        job.seeds[0] if job.seeds else 0,
        False,
    )


def share(hub, job_id, shared, request: gr.Request):
    """Share one of your jobs (anyone with its id can then open, reuse and vary it) or make it private again.

    Args:
        job_id: the id of one of your jobs
        shared: True to share it, False to make it private
    """
    with user_errors():
        hub.share(job_id, bool(shared), origin(request))
    return history(hub, request)  # the table shows the new setting


def png_info(hub, path):
    """The generation parameters stored in a PNG (A1111-style 'parameters').

    Args:
        path: a PNG file
    """
    if path is None:
        raise refuse("drop a PNG file first")
    with user_errors(), open(path, "rb") as f:
        return hub.png_info(f.read())


def send(info):
    if not info:
        raise refuse("read a PNG's parameters first")
    num = lambda key, cast: cast(info[key]) if key in info else None  # noqa: E731
    return (
        info.get("prompt", ""),
        info.get("negative_prompt", ""),
        num("Steps", int),
        num("CFG scale", float),
        num("Seed", int) or 0,
        "Seed" not in info,
    )


def picked(evt: gr.SelectData):
    """A History thumbnail clicked: its job id (the caption starts with it) goes to the job id box."""
    caption = (evt.value.get("caption") or "") if isinstance(evt.value, dict) else ""
    return caption.split(" · ")[0] if caption else gr.skip()


def build(hub, t, generate: dict, tab=None) -> dict:
    gr.Markdown(t("history_intro"))
    refresh = gr.Button(t("refresh"))
    thumbs = gr.Gallery(
        label="thumbnails",
        show_label=False,
        columns=8,  # a grid of small thumbnails, each whole (a 9:16 job's grid is as tall as it is), click to open
        height="auto",
        object_fit="contain",
        format="png",
        allow_preview=False,
        elem_classes=["lienzo-thumbs", *shown_as(hub)],
    )
    table = gr.Dataframe(
        headers=list(COLUMNS),  # the History tab's first opening fills it in the visitor's language
        interactive=False,
        label=t("jobs"),
    )
    with gr.Row():
        job_id = gr.Textbox(label=t("job_id"))
        reuse_btn = gr.Button(t("reuse"))
        explain_btn = gr.Button(t("explain_image"), elem_id="history-explain")
        shared = gr.Checkbox(label=t("shared"), value=False)
        share_btn = gr.Button(t("share"))
    gr.Markdown("---")
    gr.Markdown(t("pnginfo"))
    with gr.Row():
        png = gr.File(label=t("png_file"), file_types=[".png"], type="filepath")
        params = gr.JSON(label=t("parameters"))
    send_btn = gr.Button(t("send_to_generate"))

    g = generate
    refresh.click(bind(hub, history), None, [thumbs, table], api_name="history")
    if tab is not None:  # opening the tab shows the jobs as they are now
        tab.select(bind(hub, history), None, [thumbs, table], api_visibility="private", show_progress="hidden")
    reuse_btn.click(
        bind(hub, reuse),
        [job_id],
        [
            g["prompt"],
            g["negative"],
            g["model"],
            g["steps"],
            g["prior_steps"],
            g["guidance"],
            g["seed"],
            g["randomize"],
        ],
        api_name="reuse",
    )
    share_btn.click(bind(hub, share), [job_id, shared], [thumbs, table], api_name="share")
    thumbs.select(picked, None, [job_id], api_visibility="private")
    first = gr.Number(value=1, visible=False, precision=0)  # Explain this image: a job's first picture
    png.upload(bind(hub, png_info), [png], [params], api_name="png_info")
    send_btn.click(
        send,
        [params],
        [g["prompt"], g["negative"], g["steps"], g["guidance"], g["seed"], g["randomize"]],
        api_visibility="private",
    )
    return {"button": explain_btn, "job_id": job_id, "index": first}  # the app wires it to Learn's walkthrough
