import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from hub.errors import ConfigError, JobNotFound
from hub.pnginfo import format_parameters, parse_parameters, png_bytes, read_parameters
from hub.settings import Settings
from hub.store import Store


def test_settings_read_from_env_only_when_asked():
    s = Settings.from_env(
        {
            "LIENZO_DEVICE": "cpu",
            "LIENZO_MAX_QUEUE": "7",
            "LIENZO_ALLOWED_IMAGE_HOSTS": "a.com, B.org",
            "LIENZO_DATA_DIR": "/tmp/x",
            "HF_HUB_OFFLINE": "1",
        }
    )
    assert (s.device, s.max_queue, s.allowed_image_hosts, s.data_dir, s.offline) == (
        "cpu",
        7,
        ("a.com", "b.org"),
        Path("/tmp/x"),
        True,
    )
    with pytest.raises(Exception):
        s.max_queue = 3  # frozen


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"LIENZO_MAX_QUEUE": "lots"}, "LIENZO_MAX_QUEUE must be a whole number"),
        ({"LIENZO_MAX_QUEUE": "0"}, "at least 1"),
        ({"LIENZO_DEVICE": "tpu"}, "LIENZO_DEVICE 'tpu'"),
        ({"LIENZO_LANES": "sideways"}, "LIENZO_LANES 'sideways' is not valid: use one of auto, off"),
        ({"LIENZO_OFFLINE": "maybe"}, "1/0"),
        (
            {"LIENZO_MINI_WEIGHTS": "/nowhere"},
            r"LIENZO_MINI_WEIGHTS \(or eval-mini --weights\) '/nowhere' is not a mini",
        ),
    ],
)
def test_bad_settings_name_the_variable(env, needle):
    with pytest.raises(ConfigError, match=needle):
        Settings.from_env(env)


def test_a1111_parameters_round_trip_with_spanish_and_quoted_values():
    text = format_parameters(
        "un círculo rojo, grande",
        "texto",
        {"Steps": 25, "Sampler": "DDPM", "CFG scale": 4.0, "Seed": 7, "Size": "64x64", "Model": "mini, v1"},
    )
    back = read_parameters(png_bytes(Image.new("RGB", (8, 8)), text))
    assert back.prompt == "un círculo rojo, grande" and back.negative_prompt == "texto"
    assert back.get("Seed") == "7" and back.get("Model") == "mini, v1" and back.get("Size") == "64x64"


def test_reads_another_tools_parameters():
    a1111 = (
        "masterpiece, a cat\nwearing a hat\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, "
        "Seed: 1234, Size: 512x768, Model hash: abc123, Model: sd15, Version: v1.9.0"
    )
    p = parse_parameters(a1111)
    assert p.prompt == "masterpiece, a cat\nwearing a hat"
    assert p.get("Sampler") == "Euler a" and p.get("Model hash") == "abc123"


def test_png_without_parameters_is_a_clear_error():
    with pytest.raises(Exception, match="no generation parameters"):
        read_parameters(png_bytes(Image.new("RGB", (4, 4)), None))


def test_store_lifecycle_files_before_done_and_recovery(tmp_path):
    store = Store(tmp_path)
    job = store.create(
        kind="imagine",
        user="ana",
        surface="web",
        model="mini",
        request={"prompt": "x"},
        seeds=[1, 2],
        width=8,
        height=8,
    )
    assert job.status == "queued" and len(job.id) == 10
    store.mark_running(job.id)
    red = png_bytes(Image.new("RGB", (8, 8), "red"), "a\nSteps: 1, Seed: 1, Size: 8x8")
    done = store.finish(job.id, [red] * 2, grid=png_bytes(Image.new("RGB", (16, 8)), None))
    assert done.status == "done" and all(p.exists() for p in done.images) and done.grid.exists()
    assert store.image(job.id, 1).getpixel((0, 0)) == (255, 0, 0)
    assert [j.id for j in store.list(user="ana")] == [job.id] and store.list(user="bob") == []
    other = store.create(kind="imagine", user="bob", surface="discord", model="mini", request={}, seeds=[3])
    store.mark_running(other.id)
    live = Store(tmp_path)  # a second live process: neither sees the other's jobs as orphans
    assert live.orphans() == [] and store.orphans() == []
    store.close()
    # once its owner is gone, the running job is an orphan for the next process; the finished one is untouched
    assert [(j.id, j.status, j.attempts) for j in live.orphans()] == [(other.id, "running", 1)]
    assert live.get(job.id).status == "done"
    live.close()
    store = Store(tmp_path)
    assert sqlite3.connect(tmp_path / "lienzo.sqlite3").execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(JobNotFound):
        store.get("nope")
    with pytest.raises(Exception, match="out of range"):
        store.image(job.id, 5)
