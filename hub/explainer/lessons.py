"""The Learn tab's live demos as the core runs them.

Each lesson trains one teaching model from scratch and yields `LessonFrame`s of plain values (pictures, loss
curves, figures, text), never the model, so front ends stay free of torch. `start` checks the request at once
(an `InvalidRequest` that names the setting and what is allowed) and returns the frames as a generator;
`Hub.lesson` runs it on the device thread a frame at a time, so lessons and image jobs share the device.
This module imports the models only inside the generators: importing it stays light.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields

import numpy as np

from hub.errors import InvalidRequest
from hub.explainer import toy2d
from hub.explainer.presets import CHAR_PRESETS, GAN_LOSSES, GAN_PRESETS
from hub.types import LessonFrame, LessonRequest

DATA = ("ring", "moons", "custom")
SCHEDULES = ("linear", "cosine")
MAX_PROMPT = 200  # characters of a char-model prompt

# demo -> {setting: what is allowed}; a tuple lists the choices, a (low, high, type) triple a closed range
SETTINGS: dict[str, dict[str, object]] = {
    "gan": {
        "preset": tuple(GAN_PRESETS),
        "data": DATA,
        "noise_dim": (1, 32, int),
        "lr_g": (1e-6, 1.0, float),
        "lr_d": (1e-6, 1.0, float),
        "d_steps": (1, 5, int),
        "loss": GAN_LOSSES,
        # continue: from where this user's last GAN stopped (paused, or finished); from scratch if there is none
        "start": ("fresh", "continue"),
        "train": ("both", "discriminator", "generator"),
        "run": (0, 10000, int),  # steps this time; 0: to the preset's end (or a preset's length more)
    },
    "vae": {"latent": (1, 32, int), "beta": (0.0, 50.0, float), "steps": (300, 6000, int)},
    "chars": {
        "kind": tuple(CHAR_PRESETS),
        "lang": ("en", "es"),
        "steps": (100, 1500, int),
        "prompt": str,
        "temperature": (0.1, 2.0, float),
        "top_k": (0, 100, int),
        "top_p": (0.05, 1.0, float),
    },
    "pixelcnn": {},
    "wavenet": {},
    "noise": {"step": (1, 1000, int), "schedule": SCHEDULES},
    "diffusion2d": {"data": DATA, "steps": (500, 6000, int)},
}
DEFAULTS: dict[str, dict[str, object]] = {
    "gan": {"preset": "stable", "data": "ring", "start": "fresh", "train": "both", "run": 0},
    "vae": {"latent": 2, "beta": 1.0, "steps": 3000},
    "chars": {"kind": "lstm", "lang": "en", "prompt": "Alice ", "temperature": 0.8, "top_k": 0, "top_p": 1.0},
    "pixelcnn": {},
    "wavenet": {},
    "noise": {"step": 250, "schedule": "cosine"},
    "diffusion2d": {"data": "ring", "steps": 3000},
}


def _setting(demo: str, name: str, value, allowed):
    if allowed is str:
        text = str(value)
        if len(text) > MAX_PROMPT:
            raise InvalidRequest(f"{demo}: {name} is {len(text)} characters; at most {MAX_PROMPT}")
        return text
    if isinstance(allowed, tuple) and len(allowed) == 3 and isinstance(allowed[2], type):
        low, high, kind = allowed
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidRequest(f"{demo}: {name} {value!r} is not a number; {low:g} to {high:g}") from None
        if not low <= number <= high or (kind is int and number != int(number)):
            what = "a whole number" if kind is int else "a number"
            raise InvalidRequest(f"{demo}: {name} {value!r} is out of range: {what} from {low:g} to {high:g}")
        return kind(number)
    if value not in allowed:
        raise InvalidRequest(f"{demo}: {name} {value!r} is not one of {', '.join(map(str, allowed))}")
    return value


def check(req: LessonRequest) -> tuple[dict, np.ndarray | None]:
    """The request's settings, complete and checked, and its points as an (n, 2) array when the data is custom
    (else None: other data ignores them); an InvalidRequest names the first thing wrong."""
    if req.demo not in SETTINGS:
        raise InvalidRequest(f"no lesson called {req.demo!r}; the lessons are {', '.join(SETTINGS)}")
    allowed = SETTINGS[req.demo]
    unknown = sorted(set(req.params) - set(allowed))
    if unknown:
        raise InvalidRequest(
            f"{req.demo} has no setting {', '.join(map(repr, unknown))}; its settings are "
            f"{', '.join(allowed) or 'none'}"
        )
    params = {**DEFAULTS[req.demo], **req.params}
    if req.demo == "gan":  # the preset's values for anything not given
        preset = GAN_PRESETS[_setting("gan", "preset", params["preset"], allowed["preset"])]
        params = {**{k: getattr(preset, k) for k in ("noise_dim", "lr_g", "lr_d", "d_steps", "loss")}, **params}
    if req.demo == "chars":
        kind = _setting("chars", "kind", params["kind"], allowed["kind"])
        params.setdefault("steps", CHAR_PRESETS[kind].steps)
    checked = {name: _setting(req.demo, name, params[name], allowed[name]) for name in allowed}
    pts = None
    if checked.get("data") == "custom":
        if not req.points or len(req.points) < 3:
            raise InvalidRequest(f"{req.demo}: custom data needs at least 3 points (x, y); got {len(req.points or ())}")
        try:
            pts = np.asarray(req.points, dtype=float)
        except (TypeError, ValueError):
            pts = np.zeros((0,))  # ragged or not numbers
        if pts.ndim != 2 or pts.shape[1] != 2 or not np.isfinite(pts).all():
            raise InvalidRequest(f"{req.demo}: points must be finite (x, y) pairs")
        if np.abs(pts).max() > toy2d.EXTENT:
            raise InvalidRequest(f"{req.demo}: keep points between -{toy2d.EXTENT:g} and {toy2d.EXTENT:g}")
    if req.demo == "noise" and req.image is None:
        raise InvalidRequest("noise: give the picture to noise")
    return checked, pts


# The teaching models are tiny: a second torch thread buys nothing and, on cores shared with other work, costs
# dearly (each thread's OpenMP pool spins while the other waits). The GAN's stable preset on 2 cores with one
# busy process: 30 s wall on one thread, 68 s on two.
LESSON_THREADS = 1


@contextmanager
def lesson_threads(n: int = LESSON_THREADS):
    """Torch's intra-op threads set to `n` for the block, then put back (the image engines keep theirs)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _on_lesson_threads(frames: Iterator[LessonFrame]) -> Iterator[LessonFrame]:
    """Each frame computed under `lesson_threads`; between frames (image jobs run there) the threads are back."""
    try:
        while True:
            with lesson_threads():
                frame = next(frames, None)
            if frame is None:
                return
            yield frame
    finally:
        frames.close()


def start(req: LessonRequest) -> Iterator[LessonFrame]:
    """Check the request now; return the lesson's frames, computed as they are asked for."""
    params, points = check(req)
    if req.demo == "gan":
        return _on_lesson_threads(_gan(params, points, req.image, owner=req.origin.user))
    return _on_lesson_threads(_LESSONS[req.demo](params, points, req.image))


# Where each user's GAN stands, so Pause (stopping the stream), Continue and Step pick it up: the last few users'
# (a GAN of the Learn tab is ~0.1 MB). Only the device thread touches it (lessons run there a frame at a time).
_GANS: OrderedDict = OrderedDict()
KEPT_GANS = 32


def gan_state(owner: str):
    return _GANS.get(owner)


def time_directly(req: LessonRequest) -> dict:
    """The lesson's frames pulled straight from its generator (no Hub, no device thread, no front end): the
    baseline `lienzo bench --explainer` sets the Learn tab's times against."""
    started = time.perf_counter()
    first, frames = None, 0
    for _ in start(req):
        frames += 1
        first = first if first is not None else time.perf_counter() - started
    total = time.perf_counter() - started
    return {
        "first_frame_s": round(first if first is not None else total, 3),
        "total_s": round(total, 3),
        "frames": frames,
    }


def _plain(frame) -> dict:
    """A training frame's values without the model (and its vocabulary): what may cross to a front end."""
    values = frame if isinstance(frame, dict) else {f.name: getattr(frame, f.name) for f in fields(frame)}
    return {k: v for k, v in values.items() if k not in ("model", "vocab", "state")}


def _gan(params, points, _image, owner: str = ""):
    from hub.explainer import gan

    begin, nets, run = params.pop("start"), params.pop("train"), params.pop("run") or None
    state = _GANS.get(owner) if begin == "continue" else None
    cfg = state.cfg if state is not None else gan.preset(params.pop("preset"), **params)
    total = gan.run_end(cfg, state.step if state is not None else 0, run)
    for frame in gan.train(cfg, points, state=state, run=run, nets=nets):
        _GANS[owner] = frame.state  # kept at every frame: a stopped stream leaves it where the learner saw it
        _GANS.move_to_end(owner)
        while len(_GANS) > KEPT_GANS:
            _GANS.popitem(last=False)
        values = _plain(frame)
        values["coverage"] = [float(c) for c in values["coverage"]]
        yield LessonFrame(frame.step, total, values)


def _vae(params, _points, _image):
    from hub.explainer import vae

    cfg = vae.VAEConfig(**params)
    frame = None
    for frame in vae.train(cfg):
        yield LessonFrame(frame.step, cfg.steps, _plain(frame))
    samples = vae.prior_samples(frame.model)
    pictures = [
        (vae.digits.sheet(samples[:40]), "samples from the prior"),
        (vae.latent_grid(frame.model), "decoded across the first two latent dimensions"),
        (vae.interpolate(frame.model, 0, 1), "interpolation between two test digits"),
    ]
    if cfg.latent == 2:
        pictures.insert(1, (vae.latent_map(frame.model), "test digits at their latent means"))
    values = {
        "pictures": pictures,
        "prior_recognised": vae.recognised(samples),
        "sweep": vae.beta_sweep(cfg, steps=vae.sweep_steps(cfg.steps)),
    }
    yield LessonFrame(cfg.steps, cfg.steps, values, final=True)


def _chars(params, _points, _image):
    from hub.explainer import charmodels

    prompt, temperature = params.pop("prompt"), params.pop("temperature")
    top_k, top_p = params.pop("top_k"), params.pop("top_p")
    cfg = charmodels.preset(params.pop("kind"), frame_every=50, **params)
    frame = None
    for frame in charmodels.train(cfg):
        yield LessonFrame(frame.step, cfg.steps, _plain(frame))
    model, vocab = frame.model, frame.vocab
    text = charmodels.generate(model, vocab, prompt, temperature=temperature, top_k=top_k, top_p=top_p)
    yield LessonFrame(
        cfg.steps,
        cfg.steps,
        {
            "text": text,
            "closing_probe": charmodels.closing_probe(model, vocab, cfg.lang),
            "next_chars": charmodels.next_char_probs(model, vocab, prompt, temperature, top_k, top_p),
            "heatmap": charmodels.heatmap(model, vocab, text),
            "heads": charmodels.attention_heads(model, vocab, text),
        },
        final=True,
    )


def _pixelcnn(_params, _points, _image):
    from hub.explainer import digits, pixelcnn

    cfg = pixelcnn.PixelCNNConfig()
    frame = None
    for frame in pixelcnn.train(cfg):
        yield LessonFrame(frame.step, cfg.steps, _plain(frame))
    samples, probs = pixelcnn.sample(frame.model, n=10)
    yield LessonFrame(
        cfg.steps, cfg.steps, {"samples": digits.sheet(samples), "probabilities": digits.sheet(probs)}, final=True
    )


def _wavenet(_params, _points, _image):
    from hub.explainer import wavenet

    cfg = wavenet.WaveNetConfig()
    out = None
    for out in wavenet.train(cfg):
        values = _plain(out)
        values.update(
            receptive_field=out["model"].receptive_field,
            target=out["target"].tolist(),
            prediction=out["prediction"].tolist(),
        )
        yield LessonFrame(out["step"], cfg.steps, values)
    run = wavenet.free_run(out["model"], cfg)
    free = {k: v.tolist() if hasattr(v, "tolist") else v for k, v in run.items()}
    yield LessonFrame(cfg.steps, cfg.steps, {"free_run": free}, final=True)


def _noise(params, _points, image):
    """One frame: the picture noised to step t of T=1000, and log10 SNR of both schedules."""
    from hub.explainer import diffusion

    T, step = 1000, params["step"]
    abar = diffusion.alphas_bar(params["schedule"], T)
    x0 = diffusion.image_to_array(image)
    xt = diffusion.noise(x0, step, abar, np.random.default_rng(0))
    snr = {
        k: [(t, float(np.log10(diffusion.snr(diffusion.alphas_bar(k, T))[t - 1]))) for t in range(1, T + 1, 10)]
        for k in SCHEDULES
    }
    yield LessonFrame(
        step,
        T,
        {"image": diffusion.array_to_image(xt), "log10_snr": snr, "alpha_bar": float(abar[step - 1])},
        final=True,
    )


def _diffusion2d(params, points, _image):
    from hub.explainer import diffusion

    cfg = diffusion.Diffusion2DConfig(**params)
    frame = None
    for frame in diffusion.train(cfg, points):
        yield LessonFrame(frame.step, cfg.steps, _plain(frame))
    yield LessonFrame(
        cfg.steps, cfg.steps, {"trajectories": diffusion.trajectories(frame.model, cfg, points=points)}, final=True
    )


_LESSONS = {
    "gan": _gan,
    "vae": _vae,
    "chars": _chars,
    "pixelcnn": _pixelcnn,
    "wavenet": _wavenet,
    "noise": _noise,
    "diffusion2d": _diffusion2d,
}
assert set(_LESSONS) == set(SETTINGS) == set(DEFAULTS)
