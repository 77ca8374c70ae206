"""The systems lesson's live limits: the detector's verdicts are right on drawn ground truth, and the Hub draws a
case's prompt with 8 seeds as two of the user's jobs."""

from dataclasses import replace

import pytest

from hub.explainer import limits
from hub.mini import world
from tests.conftest import with_hub


@pytest.mark.parametrize("case", list(limits.CASES))
def test_the_verdicts_hold_on_the_scene_itself_and_fail_on_what_the_limit_looks_like(case):
    scene = limits.CASES[case].scene
    assert all(limits.judge(case, world.render(scene)).values())  # the truth passes every check
    if case == "relation":
        wrong = world.swap_places(scene)  # the circle under the square
        assert limits.judge(case, world.render(wrong)) == {"relation": False, "colours": True}
    if case == "binding":
        wrong = world.swap_colours(scene)  # a yellow triangle and a green star
        assert limits.judge(case, world.render(wrong)) == {"binding": False, "colours": True}
    if case == "background":
        hidden = replace(scene, background=scene.objects[1].colour)  # the blue square on a blue field
        assert limits.judge(case, world.render(hidden)) == {"background": False, "colours": False}


def test_prompts_speak_the_learners_language_and_carry_the_aspect():
    assert limits.prompt("relation", "es") == "un círculo rojo encima de un cuadrado azul"
    assert limits.prompt("background", "en") == "a red circle above a blue square --ar 16:9"


def test_the_hub_draws_eight_seeds_as_two_jobs_of_the_user_and_refuses_bad_cases_in_words(settings):
    from hub.errors import InvalidRequest
    from hub.types import LimitsRequest, Origin

    me = Origin(user="web:learner", surface="web")

    async def body(hub):
        r = await hub.limits(LimitsRequest("background", "es", 5, origin=me))
        mine = [j.id for j in hub.list_jobs(user=me.user)]
        theirs = hub.list_jobs(user="web:other")
        refusals = []
        for req in (LimitsRequest("counting"), LimitsRequest("relation", "fr"), LimitsRequest("relation", seed=-1)):
            with pytest.raises(InvalidRequest) as caught:
                await hub.limits(req)
            refusals.append(str(caught.value))
        return r, mine, theirs, refusals

    r, mine, theirs, refusals = with_hub(settings, body)
    assert r.seeds == tuple(range(5, 13)) and len(r.images) == len(r.verdicts) == 8
    assert r.prompt.endswith("--ar 16:9") and r.prompt.startswith("un círculo rojo")
    assert set(mine) == set(r.job_ids) and len(r.job_ids) == 2 and theirs == []
    assert set(r.held) == {"background", "colours"} and all(0 <= n <= 8 for n in r.held.values())
    assert r.held["colours"] == sum(v["colours"] for v in r.verdicts)
    assert refusals == [
        "case “counting” is not one of relation, binding, background",
        "language “fr” is not one of en, es",
        "seed -1 is not valid: 0 to 4294967295",
    ]


def test_the_refusals_read_in_spanish():
    from hub.errors import in_language

    assert in_language("case “x” is not one of relation, binding, background", "es") == (
        "el caso “x” no es uno de estos: relation, binding, background"
    )
    assert in_language("language “fr” is not one of en, es", "es") == "el idioma “fr” no es uno de estos: en, es"


def test_explain_this_images_refusals_read_in_spanish():
    from hub.errors import in_language

    said = in_language(
        "job ab12 (upscale) starts from another picture; Explain this image follows images drawn from words alone: "
        "explain the job it came from",
        "es",
    )
    assert said.startswith("el trabajo ab12 (upscale) parte de otra imagen")
    assert in_language("job ab12 stopped early (--stop); Explain this image needs every step", "es").startswith(
        "el trabajo ab12 se paró"
    )
