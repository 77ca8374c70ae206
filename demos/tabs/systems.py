"""Learn · Text-to-image systems and their limits: the lesson (en/es) and its live limits, drawn by the mini
with 8 seeds and checked by the project's detector."""

from __future__ import annotations

import gradio as gr

from demos.common import HUB_QUEUE, bind, current_origin, language, say, served, start
from hub.types import LimitsRequest

CASES = ("relation", "binding", "background")


async def explain_limits(hub, case, seed):
    """One limit of text-to-image, live: its prompt (in your language) drawn by the bundled mini with 8 seeds, each
    picture checked by a detector that never looks at the model.

    Args:
        case: relation (does "above" hold?), binding (does each colour stay on its shape?) or background (does
            the background take a named colour and hide its object?)
        seed: the first of the 8 seeds
    """
    lang = language()
    r = await start(hub.limits(LimitsRequest(str(case), lang, int(seed or 0), origin=current_origin())))
    pictures = [
        (
            served(path),
            " · ".join(
                [say("seed_n", lang, seed=s)]
                + [("✓ " if ok else "✗ ") + say(f"check_{check}", lang) for check, ok in verdict.items()]
            ),
        )
        for path, s, verdict in zip(r.images, r.seeds, r.verdicts)
    ]
    held = " · ".join(
        say("limits_held", lang, check=say(f"check_{check}", lang), n=n, total=len(r.images))
        for check, n in r.held.items()
    )
    note = say("limits_note", lang, prompt=r.prompt, first=r.seeds[0], last=r.seeds[-1], held=held)
    return pictures, f"{note}  \n{say('limits_jobs', lang, jobs=', '.join(f'`{j}`' for j in r.job_ids))}"


def build(hub, t) -> None:
    gr.Markdown(t("lesson_systems"))
    gr.Markdown(t("limits_intro"))
    with gr.Row():
        case = gr.Radio([(t(f"case_{c}"), c) for c in CASES], value=CASES[0], label=t("limit"))
        seed = gr.Number(value=0, precision=0, minimum=0, label=t("first_seed"))
        go = gr.Button(t("draw_eight"), variant="primary", elem_id="limits-draw")
    note = gr.Markdown(label="note", elem_id="limits-note")
    pictures = gr.Gallery(label=t("eight_seeds"), columns=8, height=200, object_fit="contain")
    go.click(bind(hub, explain_limits), [case, seed], [pictures, note], api_name="explain_limits", **HUB_QUEUE)
