"""The explainer's live models reach their figures with fixed seeds on a CPU (seconds are in docs, not here)."""

import numpy as np
import pytest

from conftest import run
from demos.explainer import diffusion, gan, toy2d


def test_gan_stable_preset_covers_all_eight_modes_and_the_collapse_preset_collapses():
    stable = list(gan.train(gan.preset("stable")))
    assert stable[-1].modes == 8 and stable[0].image.size == (320, 320)
    collapsed = list(gan.train(gan.preset("mode collapse")))
    assert collapsed[-1].modes <= 2
    assert len(stable[-1].d_losses) == gan.preset("stable").steps


def test_gan_trains_on_the_learners_points():
    pts = np.array([[1.5, 0.0], [-1.5, 0.0], [0.0, 1.5], [0.0, -1.5]])
    frames = list(gan.train(gan.preset("stable", data="custom", steps=200, frame_every=100), pts))
    assert len(frames) == 2
    with pytest.raises(ValueError, match="at least 3 points"):
        list(gan.train(gan.preset("stable", data="custom", steps=10), pts[:2]))


def test_two_d_diffusion_covers_the_ring():
    frames = list(diffusion.train(diffusion.Diffusion2DConfig()))
    assert frames[-1].modes == 8 and frames[-1].near_share >= 0.7
    pictures = diffusion.trajectories(diffusion.train.model, diffusion.Diffusion2DConfig())
    assert len(pictures) >= 5


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_forward_noising_matches_theory(schedule):
    T = 1000
    abar = diffusion.alphas_bar(schedule, T)
    rng = np.random.default_rng(0)
    x0 = np.linspace(-1, 1, 64).reshape(8, 8)
    for t in (1, 100, 500, 900):
        draws = np.stack([diffusion.noise(x0, t, abar, rng) for _ in range(20000)])
        mean, var = draws.mean(0), draws.var(0)
        assert np.abs(mean - np.sqrt(abar[t - 1]) * x0).max() <= 0.01 * max(1.0, np.abs(x0).max()) + 4 * np.sqrt(
            (1 - abar[t - 1]) / 20000)
        assert np.abs(var / (1 - abar[t - 1]) - 1).max() < 0.04  # the per-pixel estimate's own spread at n=20000
        assert abs(var.mean() / (1 - abar[t - 1]) - 1) < 0.01  # within 1% on average over pixels
    # at t = T nothing of the image is left: standard normal (mean 0, variance 1, no skew, no excess kurtosis)
    xT = diffusion.noise(np.random.default_rng(1).uniform(-1, 1, (128, 128, 3)), T, abar, rng).ravel()
    skew = ((xT - xT.mean()) ** 3).mean() / xT.std() ** 3
    kurt = ((xT - xT.mean()) ** 4).mean() / xT.std() ** 4 - 3
    assert abs(xT.mean()) < 0.02 and abs(xT.std() - 1) < 0.02 and abs(skew) < 0.05 and abs(kurt) < 0.1
    assert diffusion.snr(abar)[0] > 100 and diffusion.snr(abar)[-1] < 1e-3


def test_walkthrough_shows_the_real_tensors_of_the_generate_path(settings):
    from PIL import Image

    from hub.service import Hub
    from hub.types import ImagineRequest, WalkthroughRequest

    async def main():
        hub = Hub.create(settings)
        try:
            walk = await hub.walkthrough(WalkthroughRequest("un círculo rojo encima de un cuadrado azul", seed=9))
            made = await (await hub.imagine(ImagineRequest("un círculo rojo encima de un cuadrado azul", seed=9,
                                                           num_images=1, parse_flags=False))).result()
            return walk, made
        finally:
            await hub.close()

    walk, made = run(main())
    assert list(walk.image.getdata()) == list(Image.open(made.images[0]).convert("RGB").getdata())
    assert walk.tokens[0] == "<|startoftext|>" and walk.tokens[-1] == "<|endoftext|>"
    assert [s for s, _ in walk.steps] == [5, 10, 15, 20, 25] and walk.cut == ""
    assert -1 <= walk.zero_image_similarity <= 1 and -1 <= walk.text_image_similarity <= 1


def test_walkthrough_reports_what_the_token_limit_cuts(settings):
    from hub.service import Hub
    from hub.types import WalkthroughRequest

    async def main():
        hub = Hub.create(settings)
        try:
            return await hub.walkthrough(WalkthroughRequest("a red circle above a blue square " * 8, seed=1,
                                                            num_inference_steps=2, show_every=1))
        finally:
            await hub.close()

    walk = run(main())
    assert len(walk.tokens) == walk.token_limit and "square" in walk.cut


def test_toy_coverage_counts_modes_fairly():
    rng = np.random.default_rng(0)
    ring = toy2d.sample("ring", 4000, rng)
    assert toy2d.modes_covered(ring) == 8
    one_mode = toy2d.ring_centres()[[0]] + 0.01 * rng.standard_normal((4000, 2))
    assert toy2d.modes_covered(one_mode) == 1


def test_vae_beats_pca_and_its_reconstructions_stay_recognisable():
    from demos.explainer import digits, vae

    frames = list(vae.train(vae.VAEConfig(latent=16)))
    last = frames[-1]
    assert last.mse < last.pca_mse  # below PCA with the same 16 dimensions
    _, _, xt, yt = digits.load()
    recognised = (digits.classifier().predict(vae.reconstruct(last.model, xt)) == yt).mean()
    assert recognised >= 0.9
    assert vae.latent_grid(last.model).size[0] > 0 and vae.interpolate(last.model, 0, 1).size[0] > 0


def test_vae_beta_trades_reconstruction_for_a_tidy_latent_space():
    from demos.explainer import vae

    plain = list(vae.train(vae.VAEConfig(latent=2, beta=0.0, steps=600, frame_every=600)))[-1]
    collapsed = list(vae.train(vae.VAEConfig(latent=2, beta=50.0, steps=600, frame_every=600)))[-1]
    assert collapsed.kl_curve[-1] < 0.1 * plain.kl_curve[-1]  # large beta: the posterior collapses onto the prior
    assert collapsed.mse > plain.mse
    assert vae.latent_map(plain.model).size == (320, 320)


def test_pixelcnn_beats_the_independent_pixel_baseline_by_a_quarter():
    from demos.explainer import pixelcnn

    last = list(pixelcnn.train())[-1]
    assert last.test_bits <= 0.75 * last.baseline_bits
    samples, probs = pixelcnn.sample(last.model, n=4)
    assert samples.shape == (4, 64) and set(np.unique(samples)) <= {0.0, 1.0} and ((probs >= 0) & (probs <= 1)).all()


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_char_models_beat_the_bigram_baseline(kind):
    from demos.explainer import charmodels as cm

    cfg = cm.CharConfig(kind=kind, **({"width": 96, "dropout": 0.25, "lr": 2e-3} if kind == "transformer" else {}),
                        steps=800 if kind == "transformer" else 500, frame_every=800)
    last = list(cm.train(cfg))[-1]
    assert last.val_nats <= 2.2 < last.bigram_nats
    text = cm.generate(last.model, last.vocab, "Alice ", n=40)
    assert text.startswith("Alice ") and len(text) == 46
    assert cm.heatmap(last.model, last.vocab, "Alice was ").width >= 256
    assert set(cm.closing_probe(last.model, last.vocab)) == {4, 16, 40}


def test_wavenet_beats_repeating_the_last_sample():
    from demos.explainer import wavenet

    out = wavenet.train()
    assert out["mse"] < 0.5 * out["baseline_mse"] and out["model"].receptive_field == 64
