"""The Space's entry point: the same web hub as `lienzo serve`, on the Space's hardware.

On ZeroGPU (the Space sets SPACES_ZERO_GPU) the GPU exists only inside `spaces.GPU` calls, made in a forked
process with pickled arguments: the Hub then uses its `zerogpu` placement (hub/placement.py), loading the
models here at start-up and running each batch in one GPU call whose duration it estimates. Elsewhere the
Hub runs on its own device thread. LIENZO_PLACEMENT overrides the choice.
"""

from __future__ import annotations

import os

from demos.app import build_app, serving_options
from hub.service import Hub

try:
    import spaces
except ImportError:  # not on Spaces
    spaces = None


def on_zero_gpu() -> bool:
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true")


def create_app():
    overrides = {}
    if on_zero_gpu() and not os.environ.get("LIENZO_PLACEMENT"):
        overrides["placement"] = "zerogpu"
    if not os.environ.get("LIENZO_SHARE"):  # a demo Space: jobs open to anyone with their id, unless set otherwise
        overrides["share"] = "public"
    hub = Hub.create(gpu=spaces.GPU if spaces is not None else None, recover=True, **overrides)
    # hf_oauth: true in the Space's README sets OAUTH_CLIENT_ID: then visitors can sign in with Hugging Face
    demo, i18n = build_app(hub, login=bool(os.environ.get("OAUTH_CLIENT_ID")))
    return demo, i18n, serving_options(hub, i18n, mcp=os.environ.get("LIENZO_MCP") == "1")


demo, i18n, options = create_app()

if __name__ == "__main__":
    demo.launch(**options)
