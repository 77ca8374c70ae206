"""Learn: lessons (en/es) and live demos: a 2-D GAN, a VAE, characters by RNN and transformer, PixelCNN and WaveNet,
forward noising and a 2-D diffusion model; the systems lesson (demos/tabs/systems.py) and the walkthrough of the mini
Kandinsky, stage by stage (demos/tabs/walkthrough.py), are tabs of their own."""

from __future__ import annotations

import functools
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
from PIL import Image

from demos.common import (
    HUB_QUEUE,
    ImageFile,
    bind,
    current_origin,
    language,
    refuse,
    say,
    user_errors,
    word,
)
from demos.explainer import shipped
from demos.tabs import systems, walkthrough
from hub.service import example_picture, learn_catalogue, points_from_drawing
from hub.types import LessonRequest

LEARN = learn_catalogue()  # the lessons' defaults, settings and presets, as the core defines them

TOPICS = ("gan", "vae", "rnn", "transformer", "autoregressive", "diffusion")


MAX_UPLOAD_BYTES = 1 << 20  # a points file bigger than 1 MiB is not a sketch of 2-D data


def _points(text: str) -> np.ndarray | None:
    rows = [r for r in (text or "").replace(";", "\n").splitlines() if r.strip() and not r.lstrip().startswith("#")]
    if not rows:
        return None
    try:
        pts = np.array([[float(v) for v in r.replace(",", " ").split()[:2]] for r in rows])
    except ValueError:
        raise refuse("points must be lines of 'x, y' numbers, e.g. 1.5, -0.5") from None
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3 or not np.isfinite(pts).all():
        raise refuse("give at least 3 points, one 'x, y' per line")
    if np.abs(pts).max() > LEARN.extent:
        raise refuse(f"keep points between -{LEARN.extent:g} and {LEARN.extent:g}")
    return pts


def _drawn(drawing) -> np.ndarray | None:
    """Points from the drawing pad's value (an ImageEditor dict, or a plain picture); None if nothing is drawn."""
    picture = drawing.get("composite") if isinstance(drawing, dict) else drawing
    if picture is None:
        return None
    pts = points_from_drawing(np.asarray(picture))
    if 0 < len(pts) < 3:
        raise refuse("draw a little more: the strokes give fewer than 3 points")
    return pts if len(pts) else None


def _uploaded(path) -> np.ndarray | None:
    if not path:
        return None
    p = Path(path)
    if p.stat().st_size > MAX_UPLOAD_BYTES:
        raise refuse(f"{p.name} is {p.stat().st_size / 2**20:.1f} MiB; a points file may be at most 1 MiB")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise refuse(f"{p.name} is not a text file: upload .csv or .txt with 'x, y' per line") from None
    rows = [r for r in text.splitlines() if r.strip()]
    if rows and not any(c.isdigit() for c in rows[0]):
        rows = rows[1:]  # a header line such as "x,y"
    return _points("\n".join(rows))


def _data_points(data: str, text: str = "", drawing=None, upload=None) -> np.ndarray | None:
    """The learner's points when the data is 'custom' (drawn, uploaded or typed; required then), else None."""
    if data != "custom":
        return None
    for pts in (_drawn(drawing), _uploaded(upload), _points(text)):
        if pts is not None:
            return pts
    raise refuse("for custom data, draw, upload or type at least 3 points")


def _losses(**series) -> pd.DataFrame:
    """Loss curves by name, for a LinePlot: each curve's name (its legend) in the learner's language."""
    rows = [
        {"step": i + 1, "loss": v, "curve": word(name)}
        for name, values in series.items()
        for i, v in enumerate(values)
        if i % 10 == 0
    ]
    return pd.DataFrame(rows or [{"step": 0, "loss": 0.0, "curve": "-"}])


# --- the demos (module level: the tab binds them to its hub; `lienzo bench --explainer` times and ships them) ---
async def _frames(hub, demo: str, progress, points=None, image=None, **params):
    """The lesson's frames from the core, driving the progress bar; hub errors become messages."""
    with user_errors():
        async for frame in hub.lesson(
            LessonRequest(demo, params, points=_pairs(points), image=image, origin=current_origin())
        ):
            if not frame.final:
                progress((frame.step, frame.total), desc=say("training"), unit=say("steps"))
            yield frame


def _pairs(points) -> tuple | None:
    return None if points is None else tuple((float(x), float(y)) for x, y in points)


async def explain_gan(
    hub,
    preset,
    data,
    noise_dim,
    lr_g,
    lr_d,
    d_steps,
    loss,
    points,
    drawing=None,
    upload=None,
    start="fresh",
    train="both",
    run=0,
    progress=gr.Progress(),
):
    """Train the 2-D GAN live and stream frames: points over the discriminator's heatmap, losses, coverage.

    Args:
        start: fresh (from scratch) or continue (from where your last GAN stopped: paused or finished)
        train: both nets, or the discriminator only, or the generator only (the other stays frozen)
        run: steps to train this time; 0 = to the preset's end
    """
    pts = _data_points(data, points, drawing, upload)
    async for f in _frames(
        hub,
        "gan",
        progress,
        pts,
        preset=preset,
        data=data,
        noise_dim=noise_dim,
        lr_g=lr_g,
        lr_d=lr_d,
        d_steps=d_steps,
        loss=loss,
        start=start,
        train=train,
        run=int(run or 0),
    ):
        v = f.values
        cover = v["coverage"]  # relative to a fair share (1/8 of the samples): shown as a percentage of them
        bars = (
            pd.DataFrame({"mode": [f"{45 * i}°" for i in range(len(cover))], "share": [100 * c / 8 for c in cover]})
            if len(cover)
            else None
        )
        summary = say("gan_note", step=f.step, total=f.total) + (
            say("gan_modes", modes=v["modes"], precision=v["precision"], verdict=_gan_verdict(v))
            if data == "ring"
            else ""
        )
        yield v["image"], _losses(discriminator=v["d_losses"], generator=v["g_losses"]), bars, summary


GAN_STEP = 50  # the Step button's steps (its label, i18n's step_more, says so)


async def continue_gan(
    hub, preset, data, noise_dim, lr_g, lr_d, d_steps, loss, points, drawing, upload, nets, progress=gr.Progress()
):
    """Continue: the GAN from where it stopped (paused or finished), to the end of its run or a run's length more;
    `nets`: both, or the discriminator or the generator alone."""
    settings = (preset, data, noise_dim, lr_g, lr_d, d_steps, loss, points, drawing, upload)
    async for out in explain_gan(hub, *settings, start="continue", train=nets, run=0, progress=progress):
        yield out


async def step_gan(
    hub, preset, data, noise_dim, lr_g, lr_d, d_steps, loss, points, drawing, upload, nets, progress=gr.Progress()
):
    """Step: GAN_STEP more steps from where the GAN stopped (from scratch when none was trained)."""
    settings = (preset, data, noise_dim, lr_g, lr_d, d_steps, loss, points, drawing, upload)
    async for out in explain_gan(hub, *settings, start="continue", train=nets, run=GAN_STEP, progress=progress):
        yield out


def _gan_verdict(v) -> str:
    """What the coverage and the precision say together, once the picture is clear: collapse, or no convergence."""
    if v["precision"] < 0.5:
        return say("gan_diverged")
    if v["modes"] <= 2:
        return say("gan_collapsed", modes=v["modes"])
    return ""


async def explain_noise(hub, image, step, schedule):
    """Noise an image to step t of T=1000 and plot the signal-to-noise ratio of both schedules."""
    if image is None:
        raise refuse("drop an image first")
    [f] = [f async for f in _frames(hub, "noise", lambda *a, **k: None, image=image, step=step, schedule=schedule)]
    a = f.values["alpha_bar"]
    curves = pd.DataFrame(
        [
            {"t": t, "log10 SNR": snr, "schedule": word(k)}
            for k, series in f.values["log10_snr"].items()
            for t, snr in series
        ]
    )
    return f.values["image"], curves, say("noise_note", a=a, signal=a**0.5, noise=(1 - a) ** 0.5)


def example_image() -> Image.Image:
    """The picture the noising demo starts from (the learner drops their own): a scene of the mini's world."""
    return example_picture()


async def explain_diffusion(hub, data, steps, points, drawing=None, upload=None, progress=gr.Progress()):
    """Train a 2-D diffusion model live; then animate its reverse trajectories."""
    pts = _data_points(data, points, drawing, upload)
    last = (gr.skip(),) * 3  # the final frame repeats the last training values: an API caller gets every figure
    async for f in _frames(hub, "diffusion2d", progress, pts, data=data, steps=steps):
        v = f.values
        if f.final:
            yield *last, v["trajectories"]
            continue
        note = (
            say("diffusion_note", step=f.step, modes=v["modes"], share=v["near_share"])
            if data == "ring"
            else say("step", step=f.step)
        )
        last = (v["image"], _losses(denoiser=v["losses"]), note)
        yield *last, gr.skip()


async def explain_vae(hub, latent, beta, steps, progress=gr.Progress()):
    """Train a VAE on the 8x8 digits; stream reconstructions and curves; then samples from its prior, its latent
    space, and a sweep of beta (reconstruction against prior samples that look like digits)."""
    last = (gr.skip(),) * 3  # the final frame repeats the last training values: an API caller gets every figure
    async for f in _frames(hub, "vae", progress, latent=latent, beta=beta, steps=steps):
        v = f.values
        if f.final:
            img, curves, note = last
            note = f"{note}  \n" + say("vae_prior", share=v["prior_recognised"])
            sweep = pd.DataFrame(
                {
                    "β": [r["beta"] for r in v["sweep"]],
                    say("col_mse"): [round(r["mse"], 4) for r in v["sweep"]],
                    "KL": [round(r["kl"], 2) for r in v["sweep"]],
                    say("col_recognised"): [f"{r['recognised']:.0%}" for r in v["sweep"]],
                }
            )
            yield img, curves, note, [(picture, word(caption)) for picture, caption in v["pictures"]], sweep
            continue
        note = say("vae_note", step=f.step, mse=v["mse"], latent=int(latent), pca=v["pca_mse"])
        last = (v["recon"], _losses(reconstruction=v["rec_curve"], KL=v["kl_curve"]), note)
        yield *last, gr.skip(), gr.skip()


async def explain_chars(hub, kind, lang, steps, prompt, temperature, top_k=0, top_p=1.0, progress=gr.Progress()):
    """Train a character-level LSTM or transformer for a minute; compare with the bigram baseline; sample with
    top-k and top-p; show what is inside (the LSTM's state, or every attention head of the transformer)."""
    last = (gr.skip(),) * 2  # the final frame repeats the last training values: an API caller gets every figure
    async for f in _frames(
        hub,
        "chars",
        progress,
        kind=kind,
        lang=lang,
        steps=steps,
        prompt=prompt,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
    ):
        v = f.values
        if not f.final:
            note = say("chars_note", step=f.step, val=v["val_nats"], bigram=v["bigram_nats"])
            last = (_losses(train=v["train_losses"]), note)
            yield *last, gr.skip(), gr.skip(), gr.skip(), gr.skip()
            continue
        probe_md = say("chars_probe") + ", ".join(f"n={n}: {p:.2f}" for n, p in v["closing_probe"].items())
        top = pd.DataFrame(
            {
                "next": [_shown_char(c) for c, _, _ in v["next_chars"]],
                "p": [p for _, p, _ in v["next_chars"]],
                "sampling": [say("kept" if kept > 0 else "cut") for _, _, kept in v["next_chars"]],
            }
        )
        heads = [(picture, say("layer_head", which=which)) for picture, which in v["heads"]]
        yield *last, f"{v['text']}\n\n---\n{probe_md}", top, v["heatmap"], heads


def _shown_char(c: str) -> str:
    """A character as a bar's label: a space or a new line shown by a sign, not as nothing."""
    return {" ": "·", "\n": "¶"}.get(c, c)


async def explain_pixelcnn(hub, progress=gr.Progress()):
    """Train a PixelCNN on binarised digits, then sample pixel by pixel (showing each pixel's probability)."""
    note = gr.skip()  # the final frame repeats the last note: an API caller gets every figure
    async for f in _frames(hub, "pixelcnn", progress):
        v = f.values
        if f.final:
            yield note, [(v["samples"], say("samples")), (v["probabilities"], say("pixel_probability"))]
        else:
            note = say("pixelcnn_note", step=f.step, bits=v["test_bits"], base=v["baseline_bits"])
            yield note, gr.skip()


async def explain_wavenet(hub, progress=gr.Progress()):
    """Train a tiny WaveNet on a two-tone signal; compare next-sample error with 'repeat the last sample'; then
    let it write on its own (free-running: each sample from its own earlier ones) after 64 real samples."""
    note = ""
    async for f in _frames(hub, "wavenet", progress):
        v = f.values
        if f.final:
            run = v["free_run"]
            prime = len(run["prime"])
            rows = [{"t": i, "value": x, "series": say("signal")} for i, x in enumerate(run["prime"] + run["truth"])]
            rows += [
                {"t": prime + i, "value": x, "series": say("wavenet_alone")} for i, x in enumerate(run["generated"])
            ]
            free = say(
                "wavenet_free",
                n=len(run["generated"]),
                prime=prime,
                periods=" · ".join(f"{p:.1f}" for p in run["periods"]),
                truth=" · ".join(f"{p:.1f}" for p in run["true_periods"]),
                ratio=run["std_ratio"],
            )
            yield pd.DataFrame(rows), f"{note}  \n{free}"
            continue
        frame = pd.DataFrame(
            [
                {"t": i, "value": float(x), "series": name}
                for name, vals in ((say("signal"), v["target"]), (say("wavenet_next"), v["prediction"]))
                for i, x in enumerate(vals)
            ]
        )
        note = say(
            "wavenet_note",
            step=f.step,
            total=f.total,
            mse=v["mse"],
            base=v["baseline_mse"],
            field=v["receptive_field"],
        )
        yield frame, note


_CORE = LEARN.defaults  # what the core trains when a setting is not given: the controls start there
_GAN = LEARN.gan_presets[_CORE["gan"]["preset"]]
_KIND = _CORE["chars"]["kind"]
DEFAULTS = {  # the controls' initial values, in the handlers' order; `lienzo bench --explainer` ships a run of each
    "gan": dict(
        preset=_CORE["gan"]["preset"],
        data=_CORE["gan"]["data"],
        noise_dim=_GAN.noise_dim,
        lr_g=_GAN.lr_g,
        lr_d=_GAN.lr_d,
        d_steps=_GAN.d_steps,
        loss=_GAN.loss,
        points="",
        drawing=None,
        upload=None,
        start=_CORE["gan"]["start"],
        train=_CORE["gan"]["train"],
        run=_CORE["gan"]["run"],
    ),
    "vae": dict(_CORE["vae"]),
    "chars": dict(
        kind=_KIND,
        lang=_CORE["chars"]["lang"],
        steps=LEARN.char_presets[_KIND].steps,
        prompt=_CORE["chars"]["prompt"],
        temperature=_CORE["chars"]["temperature"],
        top_k=_CORE["chars"]["top_k"],
        top_p=_CORE["chars"]["top_p"],
    ),
    "pixelcnn": {},
    "wavenet": {},
    "noise": dict(_CORE["noise"]),
    "diffusion2d": dict(**_CORE["diffusion2d"], points=""),
}
DEMOS = {  # section -> (handler, number of outputs)
    "gan": (explain_gan, 4),
    "vae": (explain_vae, 5),
    "chars": (explain_chars, 6),
    "pixelcnn": (explain_pixelcnn, 2),
    "wavenet": (explain_wavenet, 2),
    "noise": (explain_noise, 3),
    "diffusion2d": (explain_diffusion, 4),
}


def demo_args(section: str) -> list:
    args = list(DEFAULTS[section].values())
    return [example_image(), *args] if section == "noise" else args


SHIPPED_NOTE = {"gan": 3, "vae": 2, "chars": 1, "pixelcnn": 0, "wavenet": 1, "noise": None, "diffusion2d": 2}


@functools.lru_cache(maxsize=32)
def _shipped(section: str, lang: str) -> tuple:
    """A section's shipped run in `lang` (its note ends on the run's timing); blanks if none is shipped."""
    found = shipped.load(section, lang=lang)
    if found is None:
        return (None,) * DEMOS[section][1]
    values, meta = found
    k = SHIPPED_NOTE[section]
    if k is not None and isinstance(values[k], str):
        values[k] = f"{values[k]}  \n{shipped.timing_line(meta)}"
    return tuple(values)


def shipped_page(request: gr.Request):
    """Every section's shipped run in the visitor's language: what Learn shows until Train is pressed (the
    outputs in the order `build` returns them as "shipped")."""
    lang = language(request)
    return [value for section in DEMOS for value in _shipped(section, lang)]


def _loss_plot(t, value, height: int = 300) -> gr.LinePlot:
    """Loss curves (one line a curve, as _losses makes them), the axes titled in the learner's language."""
    return gr.LinePlot(
        value,
        x="step",
        y="loss",
        color="curve",
        label=t("losses"),
        height=height,
        elem_classes=["lienzo-plot"],  # its legend kept in view (demos/app.py CSS)
        x_title=t("axis_step"),
        y_title=t("axis_loss"),
        color_title=t("axis_curve"),
    )


def _custom_points(t) -> tuple:
    """The three ways to give custom 2-D data, in a closed accordion: (typed points, drawing pad, upload)."""
    with gr.Accordion(t("draw_points"), open=False):
        drawing = gr.Sketchpad(
            type="numpy",
            image_mode="RGBA",
            canvas_size=(240, 240),
            fixed_canvas=True,
            layers=False,
            label=t("draw_points"),
            brush=gr.Brush(default_size=6, colors=["#333333"], color_mode="fixed"),
        )
        upload = gr.File(file_types=[".csv", ".txt"], type="filepath", label=t("upload_points"))
        points = gr.Textbox(label=t("points"), lines=3, placeholder="1.5, 0\n-1.5, 0\n0, 1.5")
    return points, drawing, upload


def char_steps(kind):
    """A character model's own number of training steps."""
    return LEARN.char_presets[kind].steps


def on_preset(name):
    """A GAN preset's settings, into the advanced controls."""
    cfg = LEARN.gan_presets[name]
    return cfg.noise_dim, cfg.lr_g, cfg.lr_d, cfg.d_steps, cfg.loss


def build(hub, t) -> dict:
    """The Learn tab; returns what Explain this image (Generate, History) fills in and runs: its tabs, the
    walkthrough's job and picture fields, and the walkthrough as (handler, inputs, outputs)."""
    G, V, C, N, D = (DEFAULTS[k] for k in ("gan", "vae", "chars", "noise", "diffusion2d"))
    with gr.Tabs() as tabs:
        with gr.Tab("GAN"):
            gr.Markdown(t("lesson_gan"))
            gr.Markdown(t("shipped"))
            with gr.Row():
                with gr.Column():
                    presets = [(t(f"gan_{p.replace(' ', '_')}"), p) for p in LEARN.gan_presets]
                    preset = gr.Radio(presets, value=G["preset"], label=t("preset"))
                    data = gr.Dropdown(list(LEARN.data), value=G["data"], label=t("data"))
                    points, drawing, upload = _custom_points(t)
                    with gr.Accordion(t("advanced"), open=False):
                        noise_dim = gr.Slider(1, 32, value=G["noise_dim"], step=1, label=t("noise_size"))
                        lr_g = gr.Number(value=G["lr_g"], label="lr G")
                        lr_d = gr.Number(value=G["lr_d"], label="lr D")
                        d_steps = gr.Slider(1, 5, value=G["d_steps"], step=1, label=t("d_steps"))
                        loss = gr.Dropdown(list(LEARN.gan_losses), value=G["loss"], label=t("loss"))
                    train_gan = gr.Button(t("train"), variant="primary", elem_id="gan-train")
                    with gr.Row():
                        pause_gan = gr.Button(t("pause"), elem_id="gan-pause")
                        resume_gan = gr.Button(t("continue"), elem_id="gan-continue")
                        step_gan_btn = gr.Button(t("step_more"), elem_id="gan-step")
                    nets = gr.Radio(
                        [(t(f"nets_{k}"), k) for k in LEARN.settings["gan"]["train"]],
                        value="both",
                        label=t("nets"),
                    )
                with gr.Column():
                    gan_img = gr.Image(None, label=t("real_vs_generated"), height=320)
                    gan_note = gr.Markdown(None, label="note")
            with gr.Row():
                gan_loss = _loss_plot(t, None)
                gan_cov = gr.BarPlot(
                    None,
                    x="mode",
                    y="share",
                    label=t("coverage"),
                    height=220,
                    elem_classes=["lienzo-plot"],  # its legend kept in view (demos/app.py CSS)
                    y_lim=[0, 100],
                    sort=[f"{45 * i}°" for i in range(8)],  # round the ring, not alphabetically
                    x_title=t("axis_mode"),
                    y_title=t("axis_share"),
                )

            preset.change(on_preset, [preset], [noise_dim, lr_g, lr_d, d_steps, loss], api_visibility="private")
            gan_settings = [preset, data, noise_dim, lr_g, lr_d, d_steps, loss, points, drawing, upload]
            gan_outputs = [gan_img, gan_loss, gan_cov, gan_note]
            runs = [
                train_gan.click(bind(hub, explain_gan), gan_settings, gan_outputs, api_name="explain_gan", **HUB_QUEUE),
                resume_gan.click(
                    bind(hub, continue_gan), [*gan_settings, nets], gan_outputs, api_visibility="private", **HUB_QUEUE
                ),
                step_gan_btn.click(
                    bind(hub, step_gan), [*gan_settings, nets], gan_outputs, api_visibility="private", **HUB_QUEUE
                ),
            ]
            pause_gan.click(None, None, None, cancels=runs)  # the stream stops; Continue picks up its last frame
        with gr.Tab("VAE"):
            gr.Markdown(t("lesson_vae"))
            gr.Markdown(t("shipped"))
            with gr.Row():
                latent = gr.Radio([2, 4, 16], value=V["latent"], label=t("latent_dims"))
                beta = gr.Slider(0, 20, value=V["beta"], step=0.05, label="β")
                vae_steps = gr.Slider(300, 6000, value=V["steps"], step=100, label=t("train_steps"))
                train_vae = gr.Button(t("train"), variant="primary")
            with gr.Row():
                vae_img = gr.Image(None, label=t("inputs_and_reconstructions"), height=140)
                vae_loss = _loss_plot(t, None)
            vae_note = gr.Markdown(None, label="note")
            vae_pics = gr.Gallery(None, label=t("latent_space"), columns=4, height=360, object_fit="contain")
            vae_sweep = gr.Dataframe(label=t("beta_sweep"), interactive=False)
            train_vae.click(
                bind(hub, explain_vae),
                [latent, beta, vae_steps],
                [vae_img, vae_loss, vae_note, vae_pics, vae_sweep],
                api_name="explain_vae",
                **HUB_QUEUE,
            )
        with gr.Tab("RNN / LSTM · Transformer"):
            gr.Markdown(t("lesson_rnn"))
            gr.Markdown(t("lesson_transformer"))
            gr.Markdown(t("shipped"))
            with gr.Row():
                kind = gr.Radio(list(LEARN.char_presets), value=C["kind"], label=t("model"))
                langs = [(t(f"text_{k}"), k) for k in LEARN.settings["chars"]["lang"]]
                lang = gr.Radio(langs, value=C["lang"], label=t("language"))
                c_steps = gr.Slider(100, 1500, value=C["steps"], step=50, label=t("train_steps"))
            with gr.Row():
                c_prompt = gr.Textbox(value=C["prompt"], label=t("prompt"))
                temperature = gr.Slider(0.1, 2.0, value=C["temperature"], step=0.1, label=t("temperature"))
                top_k = gr.Slider(0, 100, value=C["top_k"], step=1, label=t("top_k"))
                top_p = gr.Slider(0.05, 1.0, value=C["top_p"], step=0.05, label=t("top_p"))
                train_chars = gr.Button(t("train"), variant="primary")
            with gr.Row():
                c_loss = _loss_plot(t, None)
                c_top = gr.BarPlot(
                    None,
                    x="next",
                    y="p",
                    color="sampling",
                    label=t("next_char"),
                    height=220,
                    elem_classes=["lienzo-plot"],  # its legend kept in view (demos/app.py CSS)
                    x_title=t("axis_next"),
                    y_title=t("axis_probability"),
                    color_title=t("axis_sampling"),
                )
            c_note = gr.Markdown(None, label="note")
            c_text = gr.Textbox(None, label=t("samples"), lines=6)
            c_heat = gr.Image(None, label=t("inside_the_model"), height=260)
            c_heads = gr.Gallery(None, label=t("attention_heads"), columns=4, height=300, object_fit="contain")
            kind.change(char_steps, [kind], [c_steps], api_visibility="private")
            train_chars.click(
                bind(hub, explain_chars),
                [kind, lang, c_steps, c_prompt, temperature, top_k, top_p],
                [c_loss, c_note, c_text, c_top, c_heat, c_heads],
                api_name="explain_chars",
                **HUB_QUEUE,
            )
        with gr.Tab(t("tab_autoregressive")):
            gr.Markdown(t("lesson_autoregressive"))
            gr.Markdown(t("shipped"))
            train_px = gr.Button(t("train_pixelcnn"), variant="primary")
            px_note = gr.Markdown(None, label="note")
            px_pics = gr.Gallery(None, label=t("samples"), columns=2, height=220, object_fit="contain")
            train_px.click(
                bind(hub, explain_pixelcnn), None, [px_note, px_pics], api_name="explain_pixelcnn", **HUB_QUEUE
            )
            gr.Markdown(t("wavenet_intro"))
            train_wave = gr.Button(t("train_wavenet"))
            wave_plot = gr.LinePlot(
                None,
                x="t",
                y="value",
                color="series",
                height=220,
                elem_classes=["lienzo-plot"],  # its legend kept in view (demos/app.py CSS)
                label=t("signal"),
                x_title=t("axis_sample"),
                y_title=t("axis_value"),
                color_title=t("axis_series"),
            )
            wave_note = gr.Markdown(None, label="note")
            train_wave.click(
                bind(hub, explain_wavenet), None, [wave_plot, wave_note], api_name="explain_wavenet", **HUB_QUEUE
            )
        with gr.Tab(t("tab_diffusion")):
            gr.Markdown(t("lesson_diffusion"))
            with gr.Row():
                src = ImageFile(example_image(), label=t("your_image"), height=220)
                noisy = gr.Image(None, label="x_t", height=220)
                snr_plot = gr.LinePlot(
                    None,
                    x="t",
                    y="log10 SNR",
                    color="schedule",
                    label="SNR",
                    height=220,
                    elem_classes=["lienzo-plot"],  # its legend kept in view (demos/app.py CSS)
                    color_title=t("schedule"),
                )
            with gr.Row():
                step = gr.Slider(1, 1000, value=N["step"], step=1, label="t")
                schedules = [(t(f"schedule_{k}"), k) for k in LEARN.schedules]
                schedule = gr.Radio(schedules, value=N["schedule"], label=t("schedule"))
            noise_note = gr.Markdown(None, label="note")
            for trigger in (step.release, schedule.change, src.upload):
                trigger(
                    bind(hub, explain_noise),
                    [src, step, schedule],
                    [noisy, snr_plot, noise_note],
                    api_name="explain_noise" if trigger == step.release else None,
                    api_visibility="public" if trigger == step.release else "private",
                    **HUB_QUEUE,
                )
            gr.Markdown(t("diffusion2d_intro"))
            gr.Markdown(t("shipped"))
            with gr.Row():
                d_data = gr.Dropdown(list(LEARN.data), value=D["data"], label=t("data"))
                d_steps2 = gr.Slider(500, 6000, value=D["steps"], step=500, label=t("train_steps"))
                train_diff = gr.Button(t("train"), variant="primary")
            d_points, d_drawing, d_upload = _custom_points(t)
            with gr.Row():
                diff_img = gr.Image(None, label=t("real_vs_generated"), height=320)
                diff_loss = _loss_plot(t, None, 320)
            diff_note = gr.Markdown(None, label="note")
            traj = gr.Gallery(None, label=t("trajectories"), columns=6, height=200, object_fit="contain")
            train_diff.click(
                bind(hub, explain_diffusion),
                [d_data, d_steps2, d_points, d_drawing, d_upload],
                [diff_img, diff_loss, diff_note, traj],
                api_name="explain_diffusion",
                **HUB_QUEUE,
            )
        with gr.Tab(t("tab_systems")):
            systems.build(hub, t)
        with gr.Tab(t("tab_walkthrough"), id="walkthrough"):
            walk = walkthrough.build(hub, t)
        with gr.Tab(t("tab_compare_arch")):
            gr.Markdown(t("architectures_md"), elem_classes=["lienzo-table"])
    shipped_into = {  # each section's outputs, in its handler's order: the page opens on its shipped run
        "gan": [gan_img, gan_loss, gan_cov, gan_note],
        "vae": [vae_img, vae_loss, vae_note, vae_pics, vae_sweep],
        "chars": [c_loss, c_note, c_text, c_top, c_heat, c_heads],
        "pixelcnn": [px_note, px_pics],
        "wavenet": [wave_plot, wave_note],
        "noise": [noisy, snr_plot, noise_note],
        "diffusion2d": [diff_img, diff_loss, diff_note, traj],
    }
    return {
        "shipped": [component for section in DEMOS for component in shipped_into[section]],
        "tabs": tabs,
        **walk,
    }
