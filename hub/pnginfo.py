"""A1111-style `parameters` text, the de-facto standard PNG-info format, written and read back.

a red circle above a blue square
Negative prompt: text, watermark
Steps: 25, Sampler: DDPMScheduler, CFG scale: 4.0, Seed: 7, Size: 64x64, Model: mini, Prior steps: 25, Prior CFG scale: 4.0
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field

from PIL import Image, PngImagePlugin

from hub.errors import ImageError

_PAIR = re.compile(r'\s*([A-Za-z][\w \-/]*?):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')


@dataclass(frozen=True)
class Parameters:
    prompt: str
    negative_prompt: str = ""
    settings: dict[str, str] = field(default_factory=dict)  # "Steps" -> "25", ...

    def get(self, key: str, default=None):
        return self.settings.get(key, default)


def _quote(value) -> str:
    text = str(value)
    if any(c in text for c in ',:\n"'):
        return json.dumps(text, ensure_ascii=False)
    return text


def format_parameters(prompt: str, negative_prompt: str, settings: dict) -> str:
    lines = [prompt.strip()]
    if negative_prompt.strip():
        lines.append(f"Negative prompt: {negative_prompt.strip()}")
    lines.append(", ".join(f"{k}: {_quote(v)}" for k, v in settings.items() if v is not None))
    return "\n".join(lines)


def parse_parameters(text: str) -> Parameters:
    lines = text.strip().split("\n")
    settings: dict[str, str] = {}
    if lines:
        pairs = _PAIR.findall(lines[-1])
        if len(pairs) >= 3:
            lines = lines[:-1]
            for key, value in pairs:
                value = value.strip()
                if value.startswith('"') and value.endswith('"') and len(value) >= 2:
                    try:
                        value = json.loads(value)
                    except json.JSONDecodeError:
                        value = value[1:-1]
                settings[key.strip()] = value
    prompt, negative, in_negative = [], [], False
    for line in lines:
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:") :].strip()
        (negative if in_negative else prompt).append(line)
    return Parameters("\n".join(prompt).strip(), "\n".join(negative).strip(), settings)


def png_bytes(image: Image.Image, parameters: str | None) -> bytes:
    info = PngImagePlugin.PngInfo()
    if parameters:
        info.add_itxt("parameters", parameters)  # iTXt: UTF-8, so Spanish prompts survive
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def read_parameters(data: bytes | Image.Image) -> Parameters:
    """Parameters of a PNG (ours or another A1111-compatible tool's). Raises ImageError if there are none."""
    if isinstance(data, Image.Image):
        image = data
    else:
        if not isinstance(data, (bytes, bytearray)) or not data.startswith(b"\x89PNG\r\n\x1a\n"):
            raise ImageError("this file is not a PNG: PNG info reads the parameters that image tools write into PNGs")
        try:
            image = Image.open(io.BytesIO(data))  # reads the chunks before the pixels, not the pixels
        except Exception:
            raise ImageError("this PNG is damaged or cut short, so its parameters cannot be read") from None
    text = image.info.get("parameters")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not text and not isinstance(data, Image.Image) and not data.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82"):
        raise ImageError(
            "this PNG is cut short (it does not end where a PNG ends), and no parameters come before the cut"
        )
    if not text:
        raise ImageError("this image carries no generation parameters (no A1111-style 'parameters' text chunk)")
    return parse_parameters(text)
