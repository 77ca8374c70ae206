"""Explainer: lessons (en/es) and live demos: a 2-D GAN, forward noising, a 2-D diffusion model, and the
mini Kandinsky pipeline walked through stage by stage."""

from __future__ import annotations

import time

import gradio as gr
import numpy as np
import pandas as pd

from demos.common import GPU, start
from demos.explainer import charmodels, diffusion, digits, gan, pixelcnn, toy2d, vae, wavenet
from hub.types import WalkthroughRequest

TOPICS = ("gan", "vae", "rnn", "transformer", "autoregressive", "diffusion")


def _points(text: str) -> np.ndarray | None:
    rows = [r for r in (text or "").replace(";", "\n").splitlines() if r.strip()]
    if not rows:
        return None
    try:
        pts = np.array([[float(v) for v in r.replace(",", " ").split()[:2]] for r in rows])
    except ValueError:
        raise gr.Error("points must be lines of 'x, y' numbers, e.g. 1.5, -0.5") from None
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3 or not np.isfinite(pts).all():
        raise gr.Error("give at least 3 points, one 'x, y' per line")
    if np.abs(pts).max() > toy2d.EXTENT:
        raise gr.Error(f"keep points between -{toy2d.EXTENT:g} and {toy2d.EXTENT:g}")
    return pts


def _data_points(data: str, text: str) -> np.ndarray | None:
    """The learner's points when the data is 'custom' (required then), else None."""
    if data != "custom":
        return None
    pts = _points(text)
    if pts is None:
        raise gr.Error("for custom data, type at least 3 points")
    return pts


def _losses(**series) -> pd.DataFrame:
    rows = [{"step": i + 1, "loss": v, "curve": name} for name, values in series.items()
            for i, v in enumerate(values) if i % 10 == 0]
    return pd.DataFrame(rows or [{"step": 0, "loss": 0.0, "curve": "-"}])


def build(hub, t) -> None:
    def run_gan(preset, data, noise_dim, lr_g, lr_d, d_steps, loss, points, progress=gr.Progress()):
        """Train the 2-D GAN live and stream frames: points over the discriminator's heatmap, losses, coverage."""
        cfg = gan.preset(preset, data=data, noise_dim=int(noise_dim), lr_g=float(lr_g), lr_d=float(lr_d),
                         d_steps=int(d_steps), loss=loss)
        pts = _data_points(data, points)
        started = time.perf_counter()
        for frame in gan.train(cfg, pts):
            progress((frame.step, cfg.steps), desc="training")
            bars = pd.DataFrame({"mode": [str(i + 1) for i in range(len(frame.coverage))],
                                 "share of fair": frame.coverage}) if len(frame.coverage) else None
            summary = (f"step {frame.step}/{cfg.steps} · {time.perf_counter() - started:.1f} s"
                       + (f" · modes covered {frame.modes}/8 (baseline: a generator that outputs one point covers 1)"
                          if data == "ring" else ""))
            yield frame.image, _losses(discriminator=frame.d_losses, generator=frame.g_losses), bars, summary

    def forward(image, step, schedule):
        """Noise an image to step t of T=1000 and plot the signal-to-noise ratio of both schedules."""
        if image is None:
            raise gr.Error("drop an image first")
        T = 1000
        abar = diffusion.alphas_bar(schedule, T)
        x0 = diffusion.image_to_array(image)
        xt = diffusion.noise(x0, int(step), abar, np.random.default_rng(0))
        curves = pd.DataFrame([{"t": s, "log10 SNR": float(np.log10(diffusion.snr(diffusion.alphas_bar(k, T))[s - 1])),
                                "schedule": k} for k in ("linear", "cosine") for s in range(1, T + 1, 10)])
        a = abar[int(step) - 1]
        return diffusion.array_to_image(xt), curves, f"ᾱ_t = {a:.4f} · signal √ᾱ = {a ** 0.5:.3f} · noise √(1-ᾱ) = {(1 - a) ** 0.5:.3f}"

    def run_diffusion(data, steps, points, progress=gr.Progress()):
        """Train a 2-D diffusion model live; then animate its reverse trajectories."""
        cfg = diffusion.Diffusion2DConfig(data=data, steps=int(steps))
        pts = _data_points(data, points)
        for frame in diffusion.train(cfg, pts):
            progress((frame.step, cfg.steps), desc="training")
            note = (f"step {frame.step} · modes {frame.modes}/8 · {frame.near_share:.0%} of samples within 3σ "
                    "of a centre (baseline: pure noise, about 4%)") if data == "ring" else f"step {frame.step}"
            yield frame.image, _losses(denoiser=frame.losses), note, gr.skip()
        yield gr.skip(), gr.skip(), gr.skip(), diffusion.trajectories(diffusion.train.model, cfg)

    def run_vae(latent, beta, progress=gr.Progress()):
        """Train a VAE on the 8x8 digits; stream reconstructions and curves; then its latent space."""
        cfg = vae.VAEConfig(latent=int(latent), beta=float(beta))
        frame = None
        for frame in vae.train(cfg):
            progress((frame.step, cfg.steps), desc="training")
            note = (f"step {frame.step} · test reconstruction error {frame.mse:.4f} per pixel · baseline PCA with "
                    f"{cfg.latent} dimensions: {frame.pca_mse:.4f}")
            yield frame.recon, _losses(reconstruction=frame.rec_curve, KL=frame.kl_curve), note, gr.skip()
        pictures = [(vae.latent_grid(frame.model), "decoded across the first two latent dimensions"),
                    (vae.interpolate(frame.model, 0, 1), "interpolation between two test digits")]
        if cfg.latent == 2:
            pictures.insert(0, (vae.latent_map(frame.model), "test digits at their latent means"))
        yield gr.skip(), gr.skip(), gr.skip(), pictures

    def run_chars(kind, lang, steps, prompt, temperature, progress=gr.Progress()):
        """Train a character-level LSTM or transformer for a minute; compare with the bigram baseline; sample."""
        cfg = charmodels.CharConfig(kind=kind, lang=lang, steps=int(steps), frame_every=50)
        frame = None
        for frame in charmodels.train(cfg):
            progress((frame.step, cfg.steps), desc="training")
            note = (f"step {frame.step} · validation {frame.val_nats:.2f} nats/char · bigram baseline "
                    f"{frame.bigram_nats:.2f}")
            yield _losses(train=frame.train_losses), note, gr.skip(), gr.skip(), gr.skip()
        text = charmodels.generate(frame.model, frame.vocab, prompt, temperature=float(temperature))
        probe = charmodels.closing_probe(frame.model, frame.vocab, lang)
        probe_md = "p(')') after '(' and n characters: " + ", ".join(f"n={n}: {p:.2f}" for n, p in probe.items())
        guesses = charmodels.next_char_probs(frame.model, frame.vocab, prompt)
        top = pd.DataFrame({"next": [repr(c) for c, _ in guesses], "p": [p for _, p in guesses]})
        yield gr.skip(), gr.skip(), f"{text}\n\n---\n{probe_md}", top, charmodels.heatmap(frame.model, frame.vocab, prompt)

    def run_pixelcnn(progress=gr.Progress()):
        """Train a PixelCNN on binarised digits, then sample pixel by pixel (showing each pixel's probability)."""
        cfg = pixelcnn.PixelCNNConfig()
        frame = None
        for frame in pixelcnn.train(cfg):
            progress((frame.step, cfg.steps), desc="training")
            yield (f"step {frame.step} · test {frame.test_bits:.1f} bits per digit · baseline (independent pixels) "
                   f"{frame.baseline_bits:.1f}", gr.skip())
        samples, probs = pixelcnn.sample(frame.model, n=10)
        yield gr.skip(), [(digits.sheet(samples), "samples"), (digits.sheet(probs), "p(pixel on) as it was drawn")]

    def run_wavenet():
        """Train a tiny WaveNet on a two-tone signal; compare next-sample error with 'repeat the last sample'."""
        out = wavenet.train()
        frame = pd.DataFrame([{"t": i, "value": float(v), "series": name} for name, vals in
                              (("signal", out["target"]), ("WaveNet", out["prediction"])) for i, v in enumerate(vals)])
        return frame, (f"next-sample error {out['mse']:.4f} · baseline (repeat the last sample) "
                       f"{out['baseline_mse']:.4f} · receptive field {out['model'].receptive_field} samples")

    async def walkthrough(prompt, seed):
        """The bundled mini Kandinsky, stage by stage: tokens, embeddings, prior, denoising steps, image.

        Args:
            prompt: what to draw (English or Spanish)
            seed: the seed; the same seed gives the same image as the Generate tab
        """
        r = await start(hub.walkthrough(WalkthroughRequest(prompt, seed=int(seed))))
        tokens = pd.DataFrame({"token": list(r.tokens), "id": list(r.token_ids)})
        info = (f"**{len(r.tokens)} tokens** (limit {r.token_limit})" + (f" · cut: ~~{r.cut}~~" if r.cut else "") +
                f"  \ncosine(text embedding, prior's image embedding) = **{r.text_image_similarity:.3f}** · baseline "
                f"cosine(text embedding, black-image embedding) = {r.zero_image_similarity:.3f}")
        emb = pd.DataFrame([{"dim": i, "value": v, "embedding": name} for name, vals in
                            (("text", r.text_embedding), ("image (prior)", r.image_embedding)) for i, v in enumerate(vals)])
        steps = [(im.resize((128, 128)), f"step {s}") for s, im in r.steps]
        return tokens, info, emb, steps, r.image.resize((256, 256))

    with gr.Tabs():
        with gr.Tab("GAN"):
            gr.Markdown(t("lesson_gan"))
            with gr.Row():
                with gr.Column():
                    preset = gr.Radio(list(gan.PRESETS), value="stable", label=t("preset"))
                    data = gr.Dropdown(["ring", "moons", "custom"], value="ring", label=t("data"))
                    points = gr.Textbox(label=t("points"), lines=3, placeholder="1.5, 0\n-1.5, 0\n0, 1.5")
                    with gr.Accordion(t("advanced"), open=False):
                        noise_dim = gr.Slider(1, 32, value=8, step=1, label=t("noise_size"))
                        lr_g = gr.Number(value=2e-4, label="lr G")
                        lr_d = gr.Number(value=2e-4, label="lr D")
                        d_steps = gr.Slider(1, 5, value=1, step=1, label=t("d_steps"))
                        loss = gr.Dropdown(["non-saturating", "minimax", "wasserstein-gp"], value="non-saturating",
                                           label=t("loss"))
                    train_gan = gr.Button(t("train"), variant="primary")
                with gr.Column():
                    gan_img = gr.Image(label=t("real_vs_generated"), height=320)
                    gan_note = gr.Markdown()
            with gr.Row():
                gan_loss = gr.LinePlot(x="step", y="loss", color="curve", label=t("losses"), height=220)
                gan_cov = gr.BarPlot(x="mode", y="share of fair", label=t("coverage"), height=220, y_lim=[0, 2])

            def on_preset(name):
                cfg = gan.PRESETS[name]
                return cfg.noise_dim, cfg.lr_g, cfg.lr_d, cfg.d_steps, cfg.loss

            preset.change(on_preset, [preset], [noise_dim, lr_g, lr_d, d_steps, loss], api_visibility="private")
            train_gan.click(run_gan, [preset, data, noise_dim, lr_g, lr_d, d_steps, loss, points],
                            [gan_img, gan_loss, gan_cov, gan_note], api_name="explain_gan")
        with gr.Tab("VAE"):
            gr.Markdown(t("lesson_vae"))
            with gr.Row():
                latent = gr.Radio([2, 16], value=16, label=t("latent_dims"))
                beta = gr.Slider(0, 20, value=0.05, step=0.05, label="β")
                train_vae = gr.Button(t("train"), variant="primary")
            with gr.Row():
                vae_img = gr.Image(label=t("inputs_and_reconstructions"), height=140)
                vae_loss = gr.LinePlot(x="step", y="loss", color="curve", label=t("losses"), height=220)
            vae_note = gr.Markdown()
            vae_pics = gr.Gallery(label=t("latent_space"), columns=3, height=260)
            train_vae.click(run_vae, [latent, beta], [vae_img, vae_loss, vae_note, vae_pics],
                            api_name="explain_vae")
        with gr.Tab("RNN / LSTM · Transformer"):
            gr.Markdown(t("lesson_rnn"))
            gr.Markdown(t("lesson_transformer"))
            with gr.Row():
                kind = gr.Radio(["lstm", "transformer"], value="lstm", label=t("model"))
                lang = gr.Radio(["en", "es"], value="en", label=t("language"))
                c_steps = gr.Slider(100, 1500, value=500, step=50, label=t("train_steps"))
            with gr.Row():
                c_prompt = gr.Textbox(value="Alice ", label=t("prompt"))
                temperature = gr.Slider(0.1, 2.0, value=0.8, step=0.1, label=t("temperature"))
                train_chars = gr.Button(t("train"), variant="primary")
            with gr.Row():
                c_loss = gr.LinePlot(x="step", y="loss", color="curve", label=t("losses"), height=220)
                c_top = gr.BarPlot(x="next", y="p", label=t("next_char"), height=220)
            c_note = gr.Markdown()
            c_text = gr.Textbox(label=t("samples"), lines=6)
            c_heat = gr.Image(label=t("inside_the_model"), height=200)
            train_chars.click(run_chars, [kind, lang, c_steps, c_prompt, temperature],
                              [c_loss, c_note, c_text, c_top, c_heat],
                              api_name="explain_chars")
        with gr.Tab(t("tab_autoregressive")):
            gr.Markdown(t("lesson_autoregressive"))
            train_px = gr.Button("PixelCNN: " + "train", variant="primary")
            px_note = gr.Markdown()
            px_pics = gr.Gallery(columns=2, height=220)
            train_px.click(run_pixelcnn, None, [px_note, px_pics], api_name="explain_pixelcnn")
            gr.Markdown(t("wavenet_intro"))
            train_wave = gr.Button("WaveNet: " + "train")
            wave_plot = gr.LinePlot(x="t", y="value", color="series", height=220)
            wave_note = gr.Markdown()
            train_wave.click(run_wavenet, None, [wave_plot, wave_note], api_name="explain_wavenet")
        with gr.Tab(t("tab_diffusion")):
            gr.Markdown(t("lesson_diffusion"))
            with gr.Row():
                src = gr.Image(type="pil", label=t("your_image"), height=220)
                noisy = gr.Image(label="x_t", height=220)
                snr_plot = gr.LinePlot(x="t", y="log10 SNR", color="schedule", label="SNR", height=220)
            with gr.Row():
                step = gr.Slider(1, 1000, value=250, step=1, label="t")
                schedule = gr.Radio(["linear", "cosine"], value="cosine", label=t("schedule"))
            noise_note = gr.Markdown()
            for trigger in (step.release, schedule.change, src.upload):
                trigger(forward, [src, step, schedule], [noisy, snr_plot, noise_note],
                        api_name="explain_noise" if trigger == step.release else None,
                        api_visibility="public" if trigger == step.release else "private")
            gr.Markdown(t("diffusion2d_intro"))
            with gr.Row():
                d_data = gr.Dropdown(["ring", "moons", "custom"], value="ring", label=t("data"))
                d_steps2 = gr.Slider(500, 6000, value=3000, step=500, label=t("train_steps"))
                d_points = gr.Textbox(label=t("points"), lines=2)
                train_diff = gr.Button(t("train"), variant="primary")
            with gr.Row():
                diff_img = gr.Image(label=t("real_vs_generated"), height=320)
                diff_loss = gr.LinePlot(x="step", y="loss", color="curve", label=t("losses"), height=320)
            diff_note = gr.Markdown()
            traj = gr.Gallery(label=t("trajectories"), columns=6, height=200)
            train_diff.click(run_diffusion, [d_data, d_steps2, d_points], [diff_img, diff_loss, diff_note, traj],
                             api_name="explain_diffusion")
        with gr.Tab(t("tab_walkthrough")):
            gr.Markdown(t("walkthrough_intro"))
            with gr.Row():
                w_prompt = gr.Textbox(value="a red circle above a blue square", label=t("prompt"))
                w_seed = gr.Number(value=0, precision=0, label=t("seed"))
                w_go = gr.Button(t("run"), variant="primary")
            w_info = gr.Markdown()
            with gr.Row():
                w_tokens = gr.Dataframe(label=t("tokens"), max_height=260)
                w_emb = gr.BarPlot(x="dim", y="value", color="embedding", label=t("embeddings"), height=260)
            w_steps = gr.Gallery(label=t("denoising"), columns=5, height=180)
            w_final = gr.Image(label=t("final_image"), height=256)
            w_go.click(walkthrough, [w_prompt, w_seed], [w_tokens, w_info, w_emb, w_steps, w_final],
                       api_name="explain_walkthrough", concurrency_id=GPU)
        with gr.Tab(t("tab_compare_arch")):
            gr.Markdown(t("architectures_md"))
