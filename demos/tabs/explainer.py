"""Learn: lessons (en/es) and live demos: a 2-D GAN, a VAE, characters by RNN and transformer, PixelCNN and WaveNet,
forward noising and a 2-D diffusion model; the systems lesson (demos/tabs/systems.py) and the walkthrough of the mini
Kandinsky, stage by stage (demos/tabs/walkthrough.py), are tabs of their own."""

from __future__ import annotations

import functools

import gradio as gr

from demos.common import HUB_QUEUE, ImageFile, bind, language
from demos.explainer import shipped
from demos.tabs import systems, walkthrough
from demos.tabs.lessons import (
    LEARN,
    continue_gan,
    example_image,
    explain_chars,
    explain_diffusion,
    explain_gan,
    explain_noise,
    explain_pixelcnn,
    explain_vae,
    explain_wavenet,
    step_gan,
)

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
