"""--draft (the model's few-step settings) and Enhance (one draft image again at full quality)."""

import numpy as np
import pytest
from PIL import Image

from hub import catalog
from hub.errors import InvalidRequest, JobNotFound, PromptError
from hub.prompt import parse
from hub.types import EnhanceRequest, ImagineRequest, Origin
from tests.hub.test_service import with_hub

ME, OTHER = Origin("ana", surface="web"), Origin("bo", surface="web")
MINI = catalog.get("mini").defaults


def bundled_less(settings, tmp_path, part: str):
    """Settings whose mini is the bundled one less its `part` folder (a model trained before that stage)."""
    folder = tmp_path / f"mini-no-{part}"
    folder.mkdir()
    for kept in catalog.BUNDLED_ROOT.iterdir():
        if kept.name != part:
            (folder / kept.name).symlink_to(kept)
    return settings.with_(mini_weights=folder)


@pytest.fixture
def without_distilled(settings, tmp_path):
    """The bundled mini less its distilled draft decoder: drafts fall back to the multistep solver."""
    return bundled_less(settings, tmp_path, "decoder-draft")


def pixels(path):
    return np.asarray(Image.open(path))


@pytest.fixture
def without_fast_vae(settings, tmp_path):
    """The bundled mini less its tiny latent decoder: drafts and previews are the MoVQ's."""
    return bundled_less(settings, tmp_path, "vae-fast")


def test_drafts_and_previews_use_the_tiny_latent_decoder_and_every_full_picture_the_movq(settings, without_fast_vae):
    """The same jobs with and without vae-fast/: a draft's pictures and a job's previews differ (the tiny decoder
    drew them; close to the MoVQ's, which it was distilled from), a full picture and an Enhance are the same to the
    pixel (the MoVQ drew them both times)."""

    async def body(hub):
        draft = await (
            await hub.imagine(ImagineRequest("a red circle above a blue square --seed 7 --draft", origin=ME))
        ).result()
        enhanced = await (await hub.enhance(EnhanceRequest(draft.job_id, 0, origin=ME))).result()
        job = await hub.imagine(ImagineRequest("a blue star --seed 3", num_images=1, preview=True, origin=ME))
        previews = [np.asarray(e.preview) for e in [e async for e in job.events()] if e.preview is not None]
        full = await job.result()
        record = hub.get_job(draft.job_id)
        return [pixels(p) for p in draft.images], pixels(enhanced.images[0]), previews, pixels(full.images[0]), record

    # one thread each: torch's sums differ in their last bits from one thread count to another, and the Hub picks
    # the count by the load it finds (hub/threads.py), which a busy machine changes between the two runs
    fast = with_hub(settings.with_(threads=1), body)
    movq = with_hub(without_fast_vae.with_(threads=1), body)
    assert fast[4].request["fast_decode"] is True
    for a, b in zip(fast[0], movq[0]):
        gap = np.abs(a.astype(int) - b.astype(int)).mean()
        assert 0 < gap < 8, gap  # another decoder, of the same latents: close, never equal
    assert np.array_equal(fast[1], movq[1]) and np.array_equal(fast[3], movq[3])
    assert fast[2] and len(fast[2]) == len(movq[2])
    assert not any(np.array_equal(a, b) for a, b in zip(fast[2], movq[2]))


def test_the_draft_flag_parses_and_takes_no_value():
    assert parse("a red circle --draft").draft and not parse("a red circle").draft
    with pytest.raises(PromptError, match="--draft"):
        parse("a red circle --draft 2")


def test_a_distilled_draft_runs_the_draft_decoder_without_guidance_and_enhance_restores_it(settings):
    async def body(hub):
        engine = await hub.scheduler.run_sync(hub.worker.engine, "mini")
        seen, forward = [], engine.draft.unet.forward

        def watched(sample, timestep, *args, **kwargs):  # the timesteps the draft decoder is called at
            seen.append(int(timestep))
            return forward(sample, timestep, *args, **kwargs)

        engine.draft.unet.forward = watched
        draft = await (await hub.imagine(ImagineRequest("a red circle --seed 7 --draft", origin=ME))).result()
        at_draft = list(seen)
        four = await (
            await hub.imagine(ImagineRequest("a red circle --seed 7 --draft", num_inference_steps=4, origin=ME))
        ).result()
        enhanced = await (await hub.enhance(EnhanceRequest(draft.job_id, 0, origin=ME))).result()
        jobs = [hub.get_job(j.job_id) for j in (draft, enhanced, four)]
        return *jobs, engine.draft is not None, at_draft, seen[len(at_draft) :]

    draft, enhanced, four, has_draft, at_draft, at_four = with_hub(settings, body)
    assert has_draft and draft.request["distilled"] and draft.request["scheduler"] == "LCMScheduler"
    assert draft.request["guidance_scale"] == 1.0 and draft.request["num_inference_steps"] == MINI.distilled_steps
    # the draft's own timesteps, recorded (Explain replays them) and run; any other count, the scheduler's spacing
    assert draft.request["timesteps"] == list(MINI.distilled_timesteps) == at_draft
    assert "timesteps" not in four.request and len(at_four) == 4 and at_four != at_draft[:4]
    assert "timesteps" not in enhanced.request
    assert enhanced.request["guidance_scale"] == MINI.guidance_scale and enhanced.request["scheduler"] is None
    # the draft's prior solver is kept, so the enhanced image has the draft's image embedding
    assert draft.request["prior_scheduler"] == enhanced.request["prior_scheduler"] == MINI.draft_prior_scheduler


def test_without_a_draft_decoder_a_draft_runs_the_solver_and_enhance_redraws_one_image(without_distilled):
    settings = without_distilled

    async def body(hub):
        engine = await hub.scheduler.run_sync(hub.worker.engine, "mini")
        embedded, generate = [], engine.generate

        def watched(tasks, *args, **kwargs):  # each job's image embeddings, as the decoder received them
            embedded.append(engine.embed_tasks(tasks)[0])
            return generate(tasks, *args, **kwargs)

        engine.generate = watched
        draft = await (await hub.imagine(ImagineRequest("a red circle --seed 7 --draft", origin=ME))).result()
        enhanced = await (await hub.enhance(EnhanceRequest(draft.job_id, 1, origin=ME))).result()
        # what Enhance promises: the draft's seed and prior settings (its image embedding), full decoder steps
        same = ImagineRequest("a red circle", seed=8, num_images=1, origin=ME)
        reference = await (await hub.imagine(same)).result()
        return draft, enhanced, reference, hub.get_job(draft.job_id), hub.get_job(enhanced.job_id), embedded

    draft, enhanced, reference, d_rec, e_rec, embedded = with_hub(settings, body)
    assert d_rec.request["draft"] is True and not d_rec.request["distilled"]
    assert d_rec.request["num_inference_steps"] == MINI.draft_steps
    assert d_rec.request["prior_num_inference_steps"] == MINI.draft_prior_steps
    assert d_rec.request["scheduler"] == MINI.draft_scheduler
    assert e_rec.kind == "enhance" and (e_rec.parent_id, e_rec.parent_index) == (draft.job_id, 1)
    assert e_rec.seeds == (8,) and e_rec.request["num_inference_steps"] == MINI.num_inference_steps
    assert "draft" not in e_rec.request and len(enhanced.images) == 1 and enhanced.grid is None
    assert d_rec.request["prior_scheduler"] == e_rec.request["prior_scheduler"] == MINI.draft_prior_scheduler
    # the draft's second image's embedding (one row against four: the sums round a little apart)
    assert (embedded[1][0] - embedded[0][1]).abs().max() < 1e-3
    # a full job on that seed draws its own embedding (25 steps of the prior's own scheduler), so another picture
    assert (embedded[2][0] - embedded[0][1]).abs().max() > 0.1
    assert not np.array_equal(pixels(enhanced.images[0]), pixels(reference.images[0]))


def test_enhance_refuses_what_it_cannot_redraw(settings):
    async def body(hub):
        full = await (await hub.imagine(ImagineRequest("a red circle", num_inference_steps=2, origin=ME))).result()
        draft = await (await hub.imagine(ImagineRequest("a red circle", draft=True, origin=ME))).result()
        errors = []
        for req in (
            EnhanceRequest(full.job_id, 0, origin=ME),  # not a draft
            EnhanceRequest(draft.job_id, 4, origin=ME),  # no fifth image
            EnhanceRequest(draft.job_id, 0, origin=OTHER),  # someone else's
        ):
            with pytest.raises((InvalidRequest, JobNotFound)) as caught:
                await hub.enhance(req)
            errors.append(caught.value)
        return errors

    not_draft, out_of_range, others = with_hub(settings, body)
    assert "is not a draft" in str(not_draft) and "vary or upscale" in str(not_draft)
    assert "out of range" in str(out_of_range)
    assert isinstance(others, JobNotFound)


def test_live_requests_of_one_user_replace_each_other_and_never_pile_up(settings):
    """Ten redraws typed in a burst: each replaces the one before (queued ones dropped at once, a running one
    stopped at its next step); the user never holds more than one live request, another user's job is untouched,
    and the last prompt is the one drawn."""
    from hub.errors import Cancelled

    async def body(hub):
        other = await hub.imagine(ImagineRequest("a blue square", num_inference_steps=2, origin=OTHER))
        handles, held = [], []
        for n in range(1, 11):
            handles.append(await hub.imagine(ImagineRequest("a red circle" + " big" * n, live=True, origin=ME)))
            live = [h for h in handles if not h.done()]
            held.append(len(live))
        outcomes = []
        for h in handles:
            try:
                outcomes.append((await h.result()).prompt)
            except Cancelled:
                outcomes.append("cancelled")
        await other.result()
        return held, outcomes, [hub.get_job(h.job_id) for h in handles]

    held, outcomes, records = with_hub(settings, body)
    assert max(held) <= 2  # the new one, and at most one replaced job still stopping at its step
    assert outcomes[-1] == "a red circle" + " big" * 10 and outcomes[:-1] == ["cancelled"] * 9
    assert all(r.request["live"] and r.request["draft"] for r in records)
    assert [r.status for r in records[:-1]] == ["cancelled"] * 9 and records[-1].status == "done"
