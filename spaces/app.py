"""The Space's entry point: the same web hub as `lienzo serve`, on the Space's hardware.

On ZeroGPU the GPU exists only inside functions decorated with `spaces.GPU`, so every call on the
Hub's device thread is wrapped with it; elsewhere the decorator changes nothing.
"""

from __future__ import annotations

import os

from demos.app import build_app, serving_options
from hub.service import Hub
from hub.settings import Settings

try:
    import spaces
except ImportError:  # not on Spaces: run without the decorator
    spaces = None

GPU_SECONDS = int(os.environ.get("LIENZO_GPU_DURATION", "120"))


def create_app():
    settings = Settings.from_env()
    device_call = spaces.GPU(duration=GPU_SECONDS) if spaces is not None else None
    hub = Hub.create(settings, device_call=device_call)
    demo, i18n = build_app(hub)
    return demo, i18n, serving_options(hub, i18n)


demo, i18n, options = create_app()

if __name__ == "__main__":
    demo.launch(mcp_server=os.environ.get("LIENZO_MCP") == "1", **options)
