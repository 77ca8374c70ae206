import pytest
from hypothesis import given, settings as hsettings, strategies as st

from hub import prompt
from hub.errors import PromptError


def test_flags_are_parsed_and_removed_from_the_text():
    p = prompt.parse("a red circle --ar 16:9 --seed 7 --no text, people --chaos 30 --q .5 --stop 50 --s 250 --tile")
    assert p.text == "a red circle"
    assert p.aspect == (16, 9) and p.seed == 7 and p.negative_prompt == "text, people"
    assert (p.chaos, p.quality, p.stop, p.stylize, p.tile) == (30, 0.5, 50, 250, True)


def test_em_and_en_dashes_count_as_double_dash():
    assert prompt.parse("a cat \u2014ar 3:2 \u2013seed 3").aspect == (3, 2)
    assert prompt.parse("a cat \u2014ar 3:2 \u2013seed 3").seed == 3


def test_multi_prompt_weights_and_image_urls():
    p = prompt.parse("https://cdn.discordapp.com/x.png space::2 ship::-0.5 --iw 1.5")
    assert p.image_urls == ("https://cdn.discordapp.com/x.png",)
    assert p.parts == (("space", 2.0), ("ship", -0.5)) and p.is_multi and p.image_weight == 1.5


def test_ratio_is_reduced_and_sizes_snap():
    assert prompt.parse("x --ar 32:18").aspect == (16, 9)
    w, h = prompt.size_for_aspect((16, 9), 768, 64, 1536)
    assert w % 64 == 0 and h % 64 == 0 and w > h


@pytest.mark.parametrize(
    "text, flag, needle",
    [
        ("", "prompt", "empty"),
        ("--ar 1:1", "prompt", "empty"),
        ("cat --ar 16x9", "--ar", "16:9"),
        ("cat --ar 10:1", "--ar", "4:1"),
        ("cat --seed 4294967296", "--seed", "4294967295"),
        ("cat --seed", "--seed", "needs a value"),
        ("cat --chaos 101", "--chaos", "0 to 100"),
        ("cat --q 3", "--q", ".25, .5, 1, 2"),
        ("cat --stop 5", "--stop", "10 to 100"),
        ("cat --s 1001", "--s", "0 to 1000"),
        ("cat --iw 4", "--iw", "0 to 3"),
        ("cat --tile yes", "--tile", "no value"),
        ("cat --v 6", "--v", "Midjourney-only"),
        ("cat --frobnicate", "--frobnicate", "unknown flag"),
        ("cat --seed 1 --seed 2", "--seed", "more than once"),
        ("a::-1 b::-1", "::", "more than 0"),
        ("cat::99", "::", "-10 and 10"),
        ("cat -- ar 2:3", "--", "needs a name"),
        ("cat --no", "--no", "leave out"),
    ],
)
def test_bad_values_name_the_flag_value_and_range(text, flag, needle):
    with pytest.raises(PromptError) as err:
        prompt.parse(text)
    assert err.value.flag == flag
    assert needle in str(err.value)


def test_too_many_ingredients():
    with pytest.raises(PromptError, match="at most 5"):
        prompt.parse("a::1 b::1 c::1 d::1 e::1 f::1")


@hsettings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            list("ab :-\u2014.,0123456789") + ["--ar ", "--seed ", "::", "--no ", "--q ", "--tile", "https://x.y/z "]
        ),
        max_size=25,
    ).map("".join)
)
def test_no_input_raises_anything_but_prompt_error(text):
    try:
        prompt.parse(text)
    except PromptError:
        pass


@hsettings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_unicode_raises_only_prompt_error(text):
    try:
        prompt.parse(text)
    except PromptError:
        pass
