"""The Kandinsky engine on tiny random-weight components of the real diffusers classes."""

import numpy as np
import pytest
import torch
from PIL import Image

from hub.engines.common import ImageTask, to_pil
from hub.engines.kandinsky import KandinskyEngine
from hub.loading import Placement


@pytest.fixture(scope="module")
def engine(tiny_kandinsky):
    prior, decoder = tiny_kandinsky
    return KandinskyEngine(prior.components, decoder.components, Placement("cpu", torch.float32, "none"))


def task(**kw):
    base = dict(
        seeds=[5, 6],
        width=64,
        height=64,
        num_inference_steps=4,
        guidance_scale=4.0,
        prior_num_inference_steps=4,
        parts=[("a red circle", 1.0)],
    )
    return ImageTask(**{**base, **kw})


def diff(a, b):
    return max(int(np.abs(np.asarray(x, int) - np.asarray(y, int)).max()) for x, y in zip(a, b))


def test_equals_a_raw_diffusers_call_with_the_same_seeds(engine, tiny_kandinsky):
    prior, decoder = tiny_kandinsky
    gens = lambda: [torch.Generator().manual_seed(s) for s in (5, 6)]  # noqa: E731
    emb = prior(["a red circle"] * 2, generator=gens(), num_inference_steps=4)
    raw = decoder(
        image_embeds=emb.image_embeds,
        negative_image_embeds=emb.negative_image_embeds,
        height=64,
        width=64,
        num_inference_steps=4,
        generator=gens(),
    ).images
    # within one level: the engine's prior leaves the prompt's padding out (hub/engines/prior.py), the same sums
    # in matrices of another shape, rounded a little apart
    assert diff(engine.generate([task()])[0], raw) <= 1


def test_batched_output_equals_solo_output(engine):
    a, b = task(), task(seeds=[11, 12, 13], parts=[("a blue star", 1.0)], negative_prompt="green")
    solo = engine.generate([a])[0] + engine.generate([b])[0]
    both = engine.generate([a, b])
    assert [len(x) for x in both] == [2, 3]
    assert diff(both[0] + both[1], solo) <= 1


def test_hard_negatives_steer_the_prior_per_part_and_row(engine):
    """hub.mini.guard's hard negatives: a further guidance term per row, away from the mean of the row's avoided
    texts; a row avoiding its own text is unchanged, a row avoiding nothing keeps its pixels in a batch with one
    that does, and the scale is the batch key's."""
    plain = task()
    pos = engine.embed_tasks([plain])[0]
    own = engine.embed_tasks([task(avoid=[["a red circle"]], avoid_scale=2.0)])[0]
    assert torch.allclose(own, pos, atol=1e-5)  # cond - avoided is zero (a bigger batch rounds a little apart)
    steered = engine.embed_tasks([task(avoid=[["a red circle on a red background"]], avoid_scale=2.0)])[0]
    off = engine.embed_tasks([task(avoid=[["a red circle on a red background"]], avoid_scale=0.0)])[0]
    assert torch.equal(off, pos) and (steered - pos).abs().max() > 1e-3
    two = task(avoid=[["a red circle on a red background", "a red circle on a blue background"]], avoid_scale=2.0)
    assert (engine.embed_tasks([two])[0] - steered).abs().max() > 1e-3  # the mean of both, not the first alone
    other = task(seeds=[11], parts=[("a blue star", 1.0)], avoid_scale=2.0, avoid=[[]])
    both = engine.embed_tasks([two, other])[0]
    assert torch.allclose(both[:2], engine.embed_tasks([two])[0], atol=1e-5)
    assert torch.allclose(both[2:], engine.embed_tasks([task(seeds=[11], parts=[("a blue star", 1.0)])])[0], atol=1e-5)
    assert two.batch_key() != plain.batch_key()


def test_a_sample_read_as_a_hiding_background_is_drawn_again_and_the_clearest_draw_kept(engine):
    """redraw_hidden: a checked row nearer (CLIP cosine) to a hiding text than to every free one is drawn again, up
    to its redraws, keeping the draw read most clearly as free; unchecked rows and clear rows are never redrawn."""
    hiding, free = ["a red circle on a red background"], ["a red circle on a blue background"]
    bad, good = engine.text_embeds(hiding + free)
    rest = torch.randn(bad.shape[0], generator=torch.Generator().manual_seed(0))
    samples = torch.stack([bad, good, rest])
    calls = []

    def again(rows, attempt):  # the first redraw still hides; the second is clear
        calls.append((rows, attempt))
        return torch.stack([bad * 2 if attempt == 1 else good] * len(rows))

    checks = [(hiding, free, 2), (hiding, free, 2), None]
    out = engine.redraw_hidden(samples, checks, again)
    assert calls == [([0], 1), ([0], 2)]
    assert torch.equal(out[0], good) and torch.equal(out[1:], samples[1:])
    calls.clear()
    out = engine.redraw_hidden(samples, [(hiding, free, 1), None, None], again)
    assert calls == [([0], 1)] and torch.equal(out, samples)  # no clearer draw within one redraw: the first stays
    assert engine.redraw_hidden(samples, [None] * 3, again) is samples and len(calls) == 1


def test_pictures_are_checked_by_their_own_reading_and_a_redrawn_one_replaces_its_row(engine):
    """redraw_hidden on decoded pictures (a list, read into embeddings by `read`): the flagged row's picture is
    replaced by the redraw read as free; the list given is left as it was."""
    from PIL import Image

    hiding, free = ["a red circle on a red background"], ["a red circle on a blue background"]
    bad, good = engine.text_embeds(hiding + free)
    red, blue, grey = (Image.new("RGB", (8, 8), c) for c in ("red", "blue", "grey"))
    reading = {id(red): bad, id(blue): good, id(grey): good}
    pictures = [red, grey]
    out = engine.redraw_hidden(
        pictures,
        [(hiding, free, 2), (hiding, free, 2)],
        lambda rows, attempt: [blue] * len(rows),
        read=lambda shown: torch.stack([reading[id(p)] for p in shown]),
    )
    assert out == [blue, grey] and pictures == [red, grey]


def test_a_redrawn_picture_is_steered_from_its_hiding_background_where_the_decoder_guides(engine):
    """_redecode: a redrawn row's decoder negative is the prior's embedding of its hiding texts, at guidance raised
    for each redraw. Its pixels differ from fresh noise alone and are the same on a second call; a decoder that does
    not guide (a distilled draft's guidance 1) ignores the hiding texts; a row without any is a plain redraw; a row
    with a negative prompt of its own steers from the mean of both."""
    t = task()
    image_emb, negative = engine.embed_tasks([t])
    hiding = (["a red circle on a red background"], ["a red circle on a blue background"], 2)
    plain = ([], ["a red circle on a blue background"], 2)

    def redraw(checks, guidance=4.0, attempt=1, negatives=("", "")):
        kwargs = dict(
            image_embeds=image_emb,
            negative_image_embeds=negative,
            height=64,
            width=64,
            num_inference_steps=4,
            guidance_scale=guidance,
            output_type="latent",
        )
        return engine._redecode(
            engine.decoder, kwargs, t.seeds, [1], attempt, t, engine._default_scheduler, None, checks, negatives
        )

    steered, fresh = redraw([None, hiding]), redraw([None, plain])
    assert diff(steered, fresh) > 0 and diff(steered, redraw([None, hiding])) == 0
    assert diff(redraw([None, hiding], attempt=2), steered) > 0  # each redraw its own noise and guidance
    assert diff(redraw([None, hiding], guidance=1.0), redraw([None, plain], guidance=1.0)) == 0
    assert diff(redraw([None, hiding], negatives=("", "a green star")), steered) > 0  # the row's own, mixed in


def test_seeds_decide_the_pixels(engine):
    one, again, other = (engine.generate([task(seeds=s)])[0] for s in ([1], [1], [2]))
    assert diff(one, again) == 0 and diff(one, other) > 0


def test_zero_embedding_is_computed_once(engine):
    calls = []
    hook = engine.prior.image_encoder.register_forward_hook(lambda *a: calls.append(1))
    try:
        engine._zero = None
        engine.generate([task()])
        engine.generate([task(seeds=[9])])
    finally:
        hook.remove()
    assert len(calls) == 1


def test_progress_previews_and_cancel(engine):
    events = []
    engine.preview_every = 2
    engine.generate([task(), task(preview=True)], progress=lambda *e: events.append(e))
    assert [e[1] for e in events] == list(range(1, 9)) and events[-1][2] == 8
    previews = [e[3] for e in events if e[3]]
    assert previews and previews[0][0] is None and isinstance(previews[0][1], Image.Image)
    events.clear()
    engine.generate([task()], progress=lambda *e: events.append(e))
    assert not any(e[3] for e in events)  # nobody asked: no decode
    from hub.errors import Cancelled

    with pytest.raises(Cancelled):
        engine.generate([task()], should_stop=lambda: True)


def test_mix_weights_chaos_tile_stop_and_img2img_run(engine):
    start = Image.new("RGB", (64, 64), "red")
    mixed = engine.generate([task(parts=[("a red circle", 0.5)], images=[(start, 0.5)])])[0]
    plain = engine.generate([task()])[0]
    assert diff(mixed, plain) > 0
    assert diff(engine.generate([task(chaos=100)])[0], plain) > 0
    assert diff(engine.generate([task(tile=True)])[0], plain) > 0
    assert diff(engine.generate([task(stop=50)])[0], plain) > 0
    out = engine.generate(
        [task(parts=[], images=[(start, 1.0)], init_image=start, strength=0.5, width=128, height=128)]
    )
    assert out[0][0].size == (128, 128)
    assert all(c.padding_mode == "zeros" for c in engine.decoder.unet.modules() if isinstance(c, torch.nn.Conv2d))


def test_every_offered_scheduler_runs_and_a_bad_name_is_a_clear_error(engine):
    from hub.errors import InvalidRequest
    from hub.types import SCHEDULERS

    with pytest.raises(InvalidRequest, match="scheduler “Nope” is not valid: choose one of DDPMScheduler"):
        engine.generate([task(scheduler="Nope")])
    for name in SCHEDULERS:  # UniPC's step takes no generator, which Kandinsky's pipelines pass to every step
        assert len(engine.generate([task(scheduler=name)])[0]) == 2, name
    assert type(engine.decoder.scheduler).__name__ == "DDPMScheduler"


def test_a_tasks_timesteps_are_the_ones_the_decoder_runs_at(engine):
    """ImageTask.timesteps (a distilled draft's): the decoder is called at exactly those, under any scheduler that
    takes a list of timesteps; the same task without them runs the scheduler's own spacing; the scheduler is put
    back after the call."""
    from hub.engines.common import _fixed_timesteps
    from hub.engines.fill import _skipping

    seen, forward = [], engine.decoder.unet.forward

    def watched(sample, timestep, *args, **kwargs):
        seen.append(int(timestep))
        return forward(sample, timestep, *args, **kwargs)

    engine.decoder.unet.forward = watched
    try:
        for scheduler in (None, "LCMScheduler", "DPMSolverMultistepScheduler"):
            seen.clear()
            engine.generate([task(num_inference_steps=3, timesteps=(999, 599, 299), scheduler=scheduler)])
            assert seen == [999, 999, 599, 599, 299, 299] or seen == [999, 599, 299], (scheduler, seen)
            seen.clear()
            engine.generate([task(num_inference_steps=3, scheduler=scheduler)])
            assert sorted(set(seen), reverse=True) != [999, 599, 299], scheduler
        from hub.errors import InvalidRequest

        with pytest.raises(InvalidRequest, match="the DDIMScheduler sampler cannot run set timesteps"):
            engine.generate([task(num_inference_steps=3, timesteps=(999, 599, 299), scheduler="DDIMScheduler")])
    finally:
        engine.decoder.unet.forward = forward
    assert type(engine.decoder.scheduler).__name__ == "DDPMScheduler"
    # fill.py's start part way subclasses the task's scheduler class: the timesteps come along, then are sliced
    from diffusers import DDPMScheduler

    cls = _skipping(_fixed_timesteps(DDPMScheduler, (999, 599, 299)))
    late = cls(num_train_timesteps=1000)
    late.skip = 1
    late.set_timesteps(3)
    assert late.timesteps.tolist() == [599, 299]
    with pytest.raises(ValueError, match="4 steps asked of a schedule of 3 timesteps"):
        late.set_timesteps(4)


def test_the_prior_can_draw_with_a_solver_and_a_bad_name_is_a_clear_error(engine):
    """A draft's prior (ImageTask.prior_scheduler): DPM-Solver++ on the prior's own noise schedule, deterministic from
    the seeds like the prior's own scheduler, which stays the pipeline's for every other job."""
    from hub.errors import InvalidRequest

    solver = task(prior_scheduler="DPMSolverMultistepScheduler", prior_num_inference_steps=3)
    once, again = engine.embed_tasks([solver])[0], engine.embed_tasks([solver])[0]
    assert torch.equal(once, again)
    assert not torch.allclose(once, engine.embed_tasks([task(prior_num_inference_steps=3)])[0], atol=1e-3)
    assert type(engine.prior.scheduler).__name__ == "UnCLIPScheduler"
    assert len(engine.generate([solver])[0]) == 2
    with pytest.raises(InvalidRequest, match="prior scheduler “Nope” is not valid: choose one of DPMSolverMultistep"):
        engine.generate([task(prior_scheduler="Nope")])


def test_inpainting_is_diffusers_inpaint_pipeline_with_the_kept_pixels_put_back(placeholder_models):
    """The engine's edit equals a raw KandinskyV22InpaintPipeline call with the same embeddings and seeds, then the
    canvas pasted back over the kept area: nothing of the user's picture outside the mask changes."""
    from hub.engines.common import paste_kept_all

    engine, raw = inpainting(placeholder_models)
    canvas = Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 80, 3), dtype=np.uint8))
    mask = Image.new("L", (80, 48), 0)
    mask.paste(255, (40, 0, 80, 48))
    t = task(width=80, height=48, init_image=canvas, mask_image=mask, strength=1.0)
    images = engine.generate([t])[0]
    expected = raw(t, canvas, mask)
    assert [im.size for im in images] == [(80, 48)] * 2
    assert diff(images, paste_kept_all(expected, t)) <= 1
    kept = np.asarray(mask) < 128
    assert all((np.asarray(im)[kept] == np.asarray(canvas)[kept]).all() for im in images)


def test_a_small_region_is_repainted_only_masked_from_a_crop_at_the_full_size(placeholder_models):
    """A1111's "only masked": a region much smaller than the canvas is repainted from a crop around it (grown by
    CROP_PAD, at the canvas's aspect) scaled up to the job's size, then scaled back into the canvas; a zoom's border
    band still repaints the whole canvas."""
    from hub.engines.common import cropped, masked_crop, paste_kept_all, uncropped

    engine, raw = inpainting(placeholder_models)
    canvas = Image.fromarray(np.random.default_rng(1).integers(0, 255, (48, 80, 3), dtype=np.uint8))
    mask = Image.new("L", (80, 48), 0)
    mask.paste(255, (8, 30, 24, 44))  # near a corner: the box is kept inside the canvas
    box = masked_crop(mask, (80, 48))
    left, top, right, bottom = box
    assert 0 <= left <= 8 - 2 and 0 <= top and 24 + 2 <= right and 44 + 2 <= bottom <= 48
    assert abs((right - left) * 48 - (bottom - top) * 80) <= 80  # the canvas's aspect, to a pixel
    t = task(width=80, height=48, init_image=canvas, mask_image=mask, strength=1.0)
    images = engine.generate([t])[0]
    part = cropped(t, box)
    assert part.init_image.size == part.mask_image.size == (80, 48)
    expected = paste_kept_all(uncropped(raw(t, part.init_image, part.mask_image), t, box), t)
    assert diff(images, expected) <= 1
    kept = np.asarray(mask) < 128
    assert all((np.asarray(im)[kept] == np.asarray(canvas)[kept]).all() for im in images)
    outside = np.ones((48, 80), bool)
    outside[top:bottom, left:right] = False
    assert all((np.asarray(im)[outside] == np.asarray(canvas)[outside]).all() for im in images)
    border = Image.new("L", (80, 48), 255)
    border.paste(0, (20, 12, 60, 36))  # Zoom Out 2x: the border is most of the canvas
    assert masked_crop(border, (80, 48)) is None and masked_crop(Image.new("L", (80, 48), 0), (80, 48)) is None


def test_a_strength_below_one_starts_the_border_from_the_canvas(placeholder_models):
    """Zoom Out and Pan at a model's outpaint_strength (hub/engines/fill.py, A1111's "masked content: fill"): the run
    leaves out the first steps and starts from the canvas noised part way, so the less strength the nearer the border
    stays to the canvas's own pixels (through the MoVQ: the placeholder's decoder does not give them back); the steps
    counted are the ones run, the same seeds give the same pictures, and the kept pixels stay exact."""
    from diffusers.pipelines.kandinsky2_2.pipeline_kandinsky2_2_inpainting import prepare_mask_and_masked_image

    engine, _ = inpainting(placeholder_models)
    canvas = Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 80, 3), dtype=np.uint8))
    mask = Image.new("L", (80, 48), 255)
    mask.paste(0, (20, 12, 60, 36))  # Zoom Out 2x: the border band is repainted
    movq = engine.inpaint_pipeline().movq
    _, tensor = prepare_mask_and_masked_image([canvas], [mask], 48, 80)
    with torch.no_grad():
        own = to_pil(movq.decode(movq.encode(tensor)["latents"], force_not_quantize=True)["sample"])[0]
    band = np.asarray(mask) >= 128

    def away(strength):
        """The border's mean distance from the canvas's own pixels, and the decoder steps counted."""
        events = []
        t = task(width=80, height=48, init_image=canvas, mask_image=mask, strength=strength, num_inference_steps=25)
        images = engine.generate([t], progress=lambda *e: events.append(e))[0]
        assert all((np.asarray(im)[~band] == np.asarray(canvas)[~band]).all() for im in images)
        assert diff(images, engine.generate([t])[0]) == 0
        steps = sum(1 for stage, *_ in events if stage == "decoder")
        return max(float(np.abs(np.asarray(im, float) - np.asarray(own, float))[band].mean()) for im in images), steps

    near, one_step = away(0.04)
    far, all_steps = away(1.0)
    assert (one_step, all_steps) == (1, 25)
    assert near < far / 2
    # a solver whose steps read its sigmas (an edit inherits its parent's scheduler): the schedule from where it starts
    for name in ("DPMSolverMultistepScheduler", "UniPCMultistepScheduler", "DDIMScheduler"):
        t = task(width=80, height=48, init_image=canvas, mask_image=mask, strength=0.5, scheduler=name)
        events = []
        images = engine.generate([t], progress=lambda *e: events.append(e))[0]
        assert [step for stage, step, *_ in events if stage == "decoder"] == [5, 6]  # after the prior's 4
        assert diff(images, engine.generate([t])[0]) == 0 and np.asarray(images[0], float).std() > 1


def inpainting(placeholder_models):
    """An engine with the placeholder mini's inpainting decoder, and raw(task, canvas, mask): diffusers'
    KandinskyV22InpaintPipeline called with the engine's embeddings of `task` and its seeds."""
    from diffusers import KandinskyV22InpaintPipeline, KandinskyV22Pipeline, KandinskyV22PriorPipeline
    from diffusers import UNet2DConditionModel

    from hub.engines.common import generators

    root = placeholder_models / "mini-placeholder"
    unet = lambda: UNet2DConditionModel.from_pretrained(root / "decoder-inpaint" / "unet")  # noqa: E731
    prior = KandinskyV22PriorPipeline.from_pretrained(root / "prior")
    decoder = KandinskyV22Pipeline.from_pretrained(root / "decoder")
    engine = KandinskyEngine(
        prior.components, decoder.components, Placement("cpu", torch.float32, "none"), inpaint=unet
    )
    pipe = KandinskyV22InpaintPipeline(unet=unet(), scheduler=decoder.scheduler, movq=decoder.movq)
    pipe.set_progress_bar_config(disable=True)

    def raw(t, canvas, mask):
        emb, neg = engine.embed_tasks([t])
        return pipe(
            image_embeds=emb,
            negative_image_embeds=neg,
            image=[canvas] * len(t.seeds),
            mask_image=[mask] * len(t.seeds),
            height=t.height,
            width=t.width,
            num_inference_steps=t.num_inference_steps,
            guidance_scale=t.guidance_scale,
            generator=generators(t.seeds),
        ).images

    return engine, raw


def test_img2img_keeps_a_non_square_size(engine):
    """diffusers 0.42's Kandinsky img2img passes (width, height) where its preprocess takes (height, width)."""
    for width, height in ((80, 48), (48, 80)):
        init = Image.new("RGB", (width, height), "red")
        out = engine.generate([task(width=width, height=height, init_image=init, strength=0.5)])[0]
        assert [im.size for im in out] == [(width, height)] * 2


def test_a_pipeline_placed_whole_finds_its_device_without_walking_its_modules(engine, monkeypatch):
    """diffusers' `_execution_device` looks for offload hooks in every submodule on each call (loading.py)."""
    walked = []
    monkeypatch.setattr(torch.nn.Module, "modules", lambda self: walked.append(self) or iter(()))
    for pipe in (engine.prior, engine.decoder, engine.img2img):
        assert pipe._execution_device == torch.device("cpu")
        assert isinstance(pipe, type(pipe).__mro__[1]) and type(pipe).__name__ == type(pipe).__mro__[1].__name__
    assert not walked


def test_on_a_cpu_the_movq_is_stored_channels_last_and_decodes_as_before(engine):
    movq = engine.decoder.movq
    convs = [m for m in movq.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    latents = torch.randn(2, movq.config.latent_channels, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        kept = movq.decode(latents, force_not_quantize=True).sample
        movq.to(memory_format=torch.contiguous_format)
        try:
            plain = movq.decode(latents, force_not_quantize=True).sample
        finally:
            movq.to(memory_format=torch.channels_last)
    assert torch.allclose(kept, plain, atol=1e-5)


def test_on_a_cpu_the_unet_and_decoders_run_as_lanes_and_draw_the_same_grid(engine):
    """hub/lanes.py: the engine's UNet and MoVQ are wrapped where they run on a CPU, the prior is not; a grid drawn
    with those calls split into two lanes matches the whole calls' to within the last bits of its pixels."""
    from hub import lanes

    assert getattr(engine.decoder.unet.forward, "_lanes", False) and getattr(
        engine.decoder.movq.decode, "_lanes", False
    )
    assert not getattr(engine.prior.prior.forward, "_lanes", False)
    before, mode = torch.get_num_threads(), lanes.mode
    torch.set_num_threads(2)
    try:
        lanes.set_mode("off")
        whole = engine.generate([task(seeds=[5, 6, 7, 8])])[0]
        lanes.set_mode("auto")
        split_before = lanes.split_calls
        split = engine.generate([task(seeds=[5, 6, 7, 8])])[0]
        assert lanes.split_calls - split_before >= 4 + 1  # the UNet's 4 steps and the final decode
    finally:
        lanes.set_mode(mode)
        torch.set_num_threads(before)
    assert diff(whole, split) <= 2
