"""The core's messages in Spanish (hub.messages): the errors users meet most, made by the core itself."""

import io
import re

import pytest
from PIL import Image

from hub.errors import JobNotFound, LienzoError, QueueFull, UserLimit, in_language
from tests.conftest import run

ENGLISH = re.compile(r"\b(the|and|with|your|is|must|give|allowed|image|job|not|out of range)\b")


def _png(size=(8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size).save(buf, format="PNG")
    return buf.getvalue()


def _refused(call) -> str:
    with pytest.raises(LienzoError) as err:
        call()
    return str(err.value)


def test_the_messages_users_meet_most_read_in_spanish(settings):
    from hub.images import load_image
    from hub.prompt import parse
    from hub.service import Hub
    from hub.types import ImagineRequest, MixItem, MixRequest, Origin, VaryRequest

    hub = Hub.create(settings)
    me = Origin(user="web:someone", surface="web")

    async def refused(coro):
        try:
            await coro
        except LienzoError as exc:
            return str(exc)
        raise AssertionError("accepted")

    made = [
        _refused(lambda: parse("")),
        _refused(lambda: parse("a cat --ar 99:1")),
        _refused(lambda: parse("a cat --chaos 500")),
        _refused(lambda: parse("a cat --bogus")),
        _refused(lambda: parse("a cat --seed 1 --seed 2")),
        _refused(lambda: load_image(b"not an image", settings, "the image to describe")),
        _refused(lambda: load_image(b"", settings, "mix image 2")),
        _refused(lambda: hub.png_info(b"GIF89a")),
        _refused(lambda: hub.png_info(_png())),
        str(JobNotFound("nojob")),
        str(UserLimit("u", 3, 3)),
        str(QueueFull("the queue is full (64 jobs waiting, the maximum is 64); try again in a minute")),
        run(refused(hub.imagine(ImagineRequest("a cat", num_images=9, origin=me)))),
        run(refused(hub.imagine(ImagineRequest("a cat", num_inference_steps=500, origin=me)))),
        run(refused(hub.imagine(ImagineRequest("a cat", seed=-1, origin=me)))),
        run(refused(hub.vary(VaryRequest("nojob", 0, "subtle", origin=me)))),
        run(refused(hub.mix(MixRequest(items=(MixItem(text="a", weight=0.0),), origin=me)))),
    ]
    for english in made:
        spanish = in_language(english, "es")
        assert spanish != english, f"no Spanish for: {english}"
        assert not ENGLISH.search(spanish.replace("--", " ")), f"{english} -> {spanish}"
        assert in_language(english, "en") == english
    assert in_language(str(JobNotFound("nojob")), "es").startswith("no hay ningún trabajo con id “nojob”")


def test_a_message_no_pattern_knows_stays_as_it_was():
    assert in_language("something new went wrong", "es") == "something new went wrong"
