"""The Space: valid YAML for the Hub's card parser, and an app that builds from spaces/app.py."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_space_yaml_has_what_spaces_needs():
    from huggingface_hub import metadata_load

    meta = metadata_load(ROOT / "spaces" / "README.md")
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    for key in ("title", "emoji", "sdk_version", "python_version", "suggested_hardware", "models", "license"):
        assert meta.get(key), key
    import gradio

    assert meta["sdk_version"] == gradio.__version__
    assert "kandinsky-community/kandinsky-2-2-decoder" in meta["models"]


def test_space_app_builds_without_launching(tmp_path, placeholder_models):
    (tmp_path / "models").symlink_to(placeholder_models)
    env = {**os.environ, "LIENZO_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1", "LIENZO_DEVICE": "cpu"}
    code = (
        "import sys; sys.path.insert(0, 'spaces'); import app; "
        "print(type(app.demo).__name__, sorted(app.i18n.translations))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("Blocks ['en', 'es']")


def test_zerogpu_placement_on_spaces_own_decorator_off_zerogpu(settings):
    """Off ZeroGPU spaces.GPU returns the function unchanged: the placement's generator runs in this process.
    (tests/hub/test_zerogpu.py holds the placement to ZeroGPU's real contract: fork, pickle, duration.)"""
    import spaces

    from tests.conftest import run
    from hub.service import Hub
    from hub.types import ImagineRequest

    durations = []

    def gpu(duration):
        def wrap(fn):
            inner = spaces.GPU(duration=duration)(fn)

            def call(*args):
                durations.append(duration(*args))
                return inner(*args)

            return call

        return wrap

    async def main():
        hub = Hub.create(settings.with_(placement="zerogpu"), gpu=gpu)
        try:
            job = await hub.imagine(ImagineRequest("a red circle", num_inference_steps=2, prior_num_inference_steps=2))
            return await job.result()
        finally:
            await hub.close()

    result = run(main())
    assert len(durations) == 1 and 5 <= durations[0] <= 120 and len(result.images) == 4
