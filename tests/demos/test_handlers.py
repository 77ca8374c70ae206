"""The web hub's handlers are plain module-level functions: a test calls them with a Hub, no server, no browser."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import gradio as gr
import pytest
from PIL import Image, PngImagePlugin

from demos.common import bind
from demos.tabs import chat, explainer, generate, history, lessons, mix

TABS = Path(__file__).resolve().parents[2] / "demos" / "tabs"


def test_no_handler_hides_inside_a_tabs_build():
    nested = []
    for path in TABS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "build":
                nested += [
                    f"{path.name}:{inner.lineno} {getattr(inner, 'name', 'lambda')}"
                    for inner in ast.walk(node)
                    if inner is not node and isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                ]
    assert nested == []


@pytest.fixture
def hub(settings):
    from hub.service import Hub

    return Hub.create(settings)


def test_bind_keeps_the_kind_the_docstring_and_the_parameters_gradio_reads(hub):
    for handler in (generate.imagine, generate.expand_prompt, history.png_info, mix.describe, chat.chat):
        bound = bind(hub, handler)
        params = list(inspect.signature(handler).parameters)
        assert params[0] == "hub" and list(inspect.signature(bound).parameters) == params[1:]
        assert bound.__doc__ == handler.__doc__
        assert inspect.isasyncgenfunction(bound) == inspect.isasyncgenfunction(handler)
        assert inspect.iscoroutinefunction(bound) == inspect.iscoroutinefunction(handler)


def test_png_info_and_send_to_generate_called_directly(hub, tmp_path):
    meta = PngImagePlugin.PngInfo()
    meta.add_text("parameters", "a red circle\nNegative prompt: blur\nSteps: 12, CFG scale: 2.5, Seed: 7, Model: mini")
    path = tmp_path / "made.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=meta)
    info = history.png_info(hub, str(path))
    assert info["prompt"] == "a red circle" and info["negative_prompt"] == "blur" and info["Seed"] == "7"
    assert history.send(info) == ("a red circle", "blur", 12, 2.5, 7, False)
    with pytest.raises(gr.Error, match="drop a PNG file first"):
        history.png_info(hub, None)
    Image.new("RGB", (8, 8)).save(path)  # no parameters in it
    with pytest.raises(gr.Error):
        history.png_info(hub, str(path))


def test_choosing_a_model_moves_the_sliders_to_its_own_settings(hub):
    mini = next(spec.defaults for spec, _ in hub.models() if spec.name == "mini")
    assert generate.follow_model(hub, "mini") == (
        mini.num_inference_steps,
        mini.prior_num_inference_steps,
        mini.guidance_scale,
    )
    assert all(isinstance(u, dict) for u in generate.follow_model(hub, "no-such-model"))  # left as they are
    assert explainer.on_preset("mode collapse") != explainer.on_preset("stable")
    assert mix.preset("image fusion")[1] == gr.update(value=0.5)


def test_a_lessons_last_answer_carries_every_figure_not_a_placeholder(hub):
    """What an API caller keeps is the final yield: it must hold the plots and notes, not gr.skip()."""
    from tests.conftest import run

    async def outputs():
        return [out async for out in lessons.explain_diffusion(hub, "ring", 500, "", progress=lambda *a, **k: None)]

    frames = run(outputs())
    final = frames[-1]
    assert len(final) == 4 and not any(isinstance(x, dict) and x.get("__type__") == "update" for x in final)
    image, losses, note, trajectories = final
    assert image is not None and len(losses) and note.startswith("step 500") and trajectories is not None


def test_clicking_a_history_thumbnail_picks_its_job():
    """Gradio's Gallery select event carries {index, value: {image, caption}} (its frontend's onselect)."""
    click = gr.SelectData(None, {"index": 0, "value": {"image": {"path": "x.png"}, "caption": "0123abcd99 · vary"}})
    assert history.picked(click) == "0123abcd99"
    assert history.picked(gr.SelectData(None, {"index": 0, "value": None})) == gr.skip()


def test_the_draft_switch_overrides_the_sliders_and_enhance_draft_redraws_one_image(hub):
    """With Draft on, the advanced sliders' steps and scheduler give way to the model's draft settings (the
    sliders always hold a value); Enhance draft then draws the chosen image at the model's full steps."""
    from tests.conftest import run

    quiet = lambda *a, **k: None  # noqa: E731

    async def both():
        args = ("a red circle", "", "mini", "1:1", 50, 50, 2.0, 3, False, 2, "DDIMScheduler")
        draft = [u async for u in generate.imagine(hub, *args, draft=True, progress=quiet)][-1]
        job_id = draft[2]
        enhanced = [u async for u in generate.enhance_draft(hub, job_id, 2, None, progress=quiet)][-1]
        jobs = hub.get_job(job_id), hub.get_job(enhanced[2])
        await hub.close()
        return jobs

    draft, enhanced = run(both())
    mini = next(spec.defaults for spec, _ in hub.models() if spec.name == "mini")
    assert draft.request["draft"] and draft.request["distilled"]  # the bundled mini has its draft decoder
    assert draft.request["num_inference_steps"] == mini.distilled_steps and draft.request["scheduler"] == "LCMScheduler"
    assert enhanced.kind == "enhance" and enhanced.parent_id == draft.id and enhanced.seeds == (4,)
    assert enhanced.request["num_inference_steps"] == mini.num_inference_steps
