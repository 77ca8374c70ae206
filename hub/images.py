"""Image inputs, checked before they are decoded; and the 2x2 grid.

Attachments and URLs are untrusted: the byte size and the header's pixel count are checked
before any pixel is decoded (decompression bombs), only common still-image formats are accepted,
and URLs are fetched only over https from the allowed hosts (no server-side request forgery).
"""

from __future__ import annotations

import io
import math
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

from PIL import Image

from hub.errors import ImageError
from hub.settings import Settings

FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")


def load_image(data: Image.Image | bytes | str | Path, settings: Settings, what: str = "image") -> Image.Image:
    """An RGB PIL image from a PIL image, bytes or a local path; ImageError says what was wrong."""
    if isinstance(data, Image.Image):
        _check_pixels(data.width, data.height, settings, what)
        return data.convert("RGB")
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.is_file():
            raise ImageError(f"{what}: no such file {str(path)!r}")
        if path.stat().st_size > settings.max_image_bytes:
            raise ImageError(f"{what} is {path.stat().st_size / 2**20:.1f} MiB; the limit is "
                             f"{settings.max_image_bytes / 2**20:.0f} MiB")
        data = path.read_bytes()
    if not isinstance(data, (bytes, bytearray)):
        raise ImageError(f"{what}: expected an image, a file path or bytes, got {type(data).__name__}")
    if len(data) > settings.max_image_bytes:
        raise ImageError(f"{what} is {len(data) / 2**20:.1f} MiB; the limit is {settings.max_image_bytes / 2**20:.0f} MiB")
    if not data:
        raise ImageError(f"{what} is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header only
            if image.format not in FORMATS:
                raise ImageError(f"{what} is {image.format or 'an unknown format'}; allowed: {', '.join(FORMATS)}")
            _check_pixels(image.width, image.height, settings, what)
            image.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{what} has too many pixels: {exc}") from None
    except Exception as exc:  # PIL raises many types for broken files
        raise ImageError(f"{what} is not a readable image ({type(exc).__name__}: {exc}); "
                         f"allowed: {', '.join(FORMATS)}") from None
    return image.convert("RGB")


def _check_pixels(width: int, height: int, settings: Settings, what: str) -> None:
    if width < 1 or height < 1:
        raise ImageError(f"{what} has no pixels ({width}x{height})")
    if width * height > settings.max_image_pixels:
        side = int(math.sqrt(settings.max_image_pixels))
        raise ImageError(f"{what} is {width}x{height} pixels; the limit is {settings.max_image_pixels:,} pixels "
                         f"(about {side}x{side})")


def check_url(url: str, settings: Settings) -> str:
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https":
        raise ImageError(f"image URL {url!r} must use https")
    allowed = settings.allowed_image_hosts
    if not any(host == h or host.endswith("." + h) for h in allowed):
        raise ImageError(f"images are fetched only from {', '.join(allowed) or 'no hosts'}; {host!r} is not allowed "
                         "(attach the image instead)")
    return url


def fetch_image(url: str, settings: Settings, timeout: float = 15.0) -> Image.Image:
    """Download an image prompt from an allowed host, never more than max_image_bytes."""
    check_url(url, settings)

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            check_url(newurl, settings)  # a redirect must stay on allowed hosts
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers={"User-Agent": "lienzo"}), timeout=timeout) as resp:
            data = resp.read(settings.max_image_bytes + 1)
    except ImageError:
        raise
    except Exception as exc:
        raise ImageError(f"could not download {url!r}: {exc}") from None
    return load_image(data, settings, what=f"image at {url}")


def grid(images: list[Image.Image], cols: int = 2) -> Image.Image:
    """Midjourney's grid: images in reading order, 2 columns."""
    cols = min(cols, len(images))
    rows = math.ceil(len(images) / cols)
    w, h = images[0].size
    out = Image.new("RGB", (cols * w, rows * h), "white")
    for i, im in enumerate(images):
        out.paste(im, ((i % cols) * w, (i // cols) * h))
    return out
