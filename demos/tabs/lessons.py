"""Learn's live demos as the web hub runs them: each handler streams a lesson's frames from the Hub (hub.lesson) and
turns them into what the tab shows (pictures, loss curves, notes in the learner's language). The tab's layout, its
controls' defaults and the shipped runs are in demos/tabs/explainer.py."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
from PIL import Image

from demos.common import current_origin, refuse, say, user_errors, word
from hub.service import example_picture, learn_catalogue, points_from_drawing
from hub.types import LessonRequest

LEARN = learn_catalogue()  # the lessons' defaults, settings and presets, as the core defines them

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
