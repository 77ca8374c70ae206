"""Image inputs, checked before they are decoded; and the 2x2 grid.

Attachments and URLs are untrusted: the byte size and the header's pixel count are checked
before any pixel is decoded (decompression bombs), only common still-image formats are accepted,
and URLs are fetched only over https on port 443 from the allowed hosts, connecting only to the public
addresses the name resolves to, within one deadline (no server-side request forgery, no slow-loris).
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import math
import socket
import ssl
import time
import urllib.parse
import warnings
from pathlib import Path

from PIL import Image

from hub.errors import ImageError, shown
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
            raise ImageError(f"{what}: there is no file {shown(str(path), 120)}")
        if path.stat().st_size > settings.max_image_bytes:
            raise ImageError(
                f"{what} is {path.stat().st_size / 2**20:.1f} MiB; the limit is "
                f"{settings.max_image_bytes / 2**20:.0f} MiB"
            )
        data = path.read_bytes()
    if not isinstance(data, (bytes, bytearray)):
        got = "nothing" if data is None else "a number" if isinstance(data, (int, float)) else "something else"
        raise ImageError(f"{what}: expected an image file (or its bytes), got {got}")
    if len(data) > settings.max_image_bytes:
        raise ImageError(
            f"{what} is {len(data) / 2**20:.1f} MiB; the limit is {settings.max_image_bytes / 2**20:.0f} MiB"
        )
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
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{what} has too many pixels; the limit is {settings.max_image_pixels:,} pixels") from None
    except Exception:  # PIL raises many types for broken files
        raise ImageError(
            f"{what} is not a readable image (damaged, cut short, or not an image); allowed: {', '.join(FORMATS)}"
        ) from None
    return image.convert("RGB")


def _check_pixels(width: int, height: int, settings: Settings, what: str) -> None:
    if width < 1 or height < 1:
        raise ImageError(f"{what} has no pixels ({width}x{height})")
    if width * height > settings.max_image_pixels:
        side = int(math.sqrt(settings.max_image_pixels))
        raise ImageError(
            f"{what} is {width}x{height} pixels; the limit is {settings.max_image_pixels:,} pixels "
            f"(about {side}x{side})"
        )


def check_url(url: str, settings: Settings) -> tuple[str, str, int, str, bool]:
    """(scheme, host, port, path, test) of an image URL Lienzo may fetch: https on port 443 from an allowed host.
    test: the URL's origin is in settings.image_test_origins (tests only), which also lifts the address rule."""
    if not isinstance(url, str) or len(url) > 2000:
        raise ImageError("an image URL must be text of at most 2000 characters")
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ImageError(f"image URL {shown(url)} has an invalid port") from None
    origin = f"{parts.scheme}://{host}:{port}"
    test = origin in settings.image_test_origins
    if not test and (parts.scheme != "https" or port != 443):
        raise ImageError(f"image URL {shown(url)} must use https on the standard port (443)")
    allowed = settings.allowed_image_hosts
    if not test and not any(host == h or host.endswith("." + h) for h in allowed):
        raise ImageError(
            f"images are fetched only from {', '.join(allowed) or 'no hosts'}; {shown(host)} is not "
            "allowed (attach the image instead)"
        )
    path = parts.path or "/"
    return parts.scheme, host, port, path + (f"?{parts.query}" if parts.query else ""), test


def public_addresses(host: str, port: int, test: bool = False) -> list[str]:
    """The addresses `host` resolves to, refused unless every one is public: no loopback, private, link-local,
    shared, reserved or cloud-metadata address, whatever the name (DNS can point an allowed name anywhere)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ImageError(f"the image host {shown(host)} could not be found") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not test and (not ip.is_global or ip.is_multicast):
            raise ImageError(
                f"the image host {shown(host)} points to a private or local address; Lienzo fetches "
                "images only from public addresses"
            )
    return addresses


def fetch_image(url: str, settings: Settings) -> Image.Image:
    """Download an image prompt from an allowed host, never more than max_image_bytes, all within
    settings.image_fetch_seconds (DNS, connection, redirects and every byte together)."""
    deadline = time.monotonic() + settings.image_fetch_seconds
    for _hop in range(4):  # redirects are followed by hand, each one checked like the first URL
        status, location, data = _get(url, settings, deadline)
        if location is None:
            if status != 200:
                raise ImageError(f"could not download {shown(url)}: the server answered HTTP {status}")
            return load_image(data, settings, what=f"the image at {shown(url)}")
        url = urllib.parse.urljoin(url, location)
    raise ImageError(f"could not download the image: {shown(url)} redirects too many times")


class _Pinned(http.client.HTTPSConnection):
    """An HTTP(S) connection to one checked address; TLS still verifies the certificate of the host name."""

    def __init__(self, host, port, address, timeout, tls):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address, self.tls = address, tls

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        if self.tls:
            self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host)
        self.live = self.sock  # http.client lets go of .sock when the response reads to the close


def _get(url: str, settings: Settings, deadline: float) -> tuple[int, str | None, bytes]:
    scheme, host, port, path, test = check_url(url, settings)
    left = lambda: deadline - time.monotonic()  # noqa: E731
    addresses = public_addresses(host, port, test)
    limit = settings.max_image_bytes
    conn = _Pinned(host, port, addresses[0], max(0.05, left()), tls=scheme == "https")
    try:
        conn.request("GET", path, headers={"User-Agent": "lienzo", "Accept": "image/*"})
        resp = conn.getresponse()
        if resp.status in (301, 302, 303, 307, 308):
            return resp.status, resp.getheader("Location") or "", b""
        size = resp.getheader("Content-Length")
        if size and size.isdigit() and int(size) > limit:
            raise ImageError(
                f"the image at {shown(url)} is {int(size) / 2**20:.1f} MiB; the limit is {limit / 2**20:.0f} MiB"
            )
        data = bytearray()
        while True:
            if left() <= 0:
                raise TimeoutError
            conn.live.settimeout(max(0.05, left()))
            chunk = resp.read1(1 << 16)  # what one read brings: a trickling host cannot stretch the deadline
            if not chunk:
                return resp.status, None, bytes(data)
            data += chunk
            if len(data) > limit:
                raise ImageError(f"the image at {shown(url)} is larger than the limit of {limit / 2**20:.0f} MiB")
    except ImageError:
        raise
    except (TimeoutError, socket.timeout):
        raise ImageError(
            f"the image at {shown(url)} took longer than {settings.image_fetch_seconds:g} s to "
            "download; attach it instead"
        ) from None
    except (OSError, http.client.HTTPException, ssl.SSLError):
        raise ImageError(f"could not download {shown(url)}: the host did not answer properly") from None
    finally:
        conn.close()


def grid(images: list[Image.Image], cols: int = 2) -> Image.Image:
    """Midjourney's grid: images in reading order, 2 columns."""
    cols = min(cols, len(images))
    rows = math.ceil(len(images) / cols)
    w, h = images[0].size
    out = Image.new("RGB", (cols * w, rows * h), "white")
    for i, im in enumerate(images):
        out.paste(im, ((i % cols) * w, (i // cols) * h))
    return out


def paste_kept(generated: Image.Image, canvas: Image.Image, mask: Image.Image, feather: int = 0) -> Image.Image:
    """An inpainted picture with the kept pixels put back exactly: where `mask` is black the result is `canvas`'s
    pixel; into the white (repainted) area the canvas fades out over `feather` pixels, so the seam does not show.
    The decoder's round trip through latents changes every pixel a little; this keeps the user's own pixels."""
    import numpy as np
    from PIL import ImageFilter

    size = canvas.size
    keep = mask.convert("L").resize(size, Image.NEAREST).point(lambda v: 255 if v < 128 else 0)
    alpha = np.asarray(keep, dtype=np.float32) / 255
    grown = keep
    for k in range(1, feather + 1):  # ring k of the hole around what is kept: the canvas at 1 - k / (feather + 1)
        grown = grown.filter(ImageFilter.MaxFilter(3))
        ring = (np.asarray(grown) > 0) & (alpha == 0)
        alpha[ring] = 1 - k / (feather + 1)
    a = alpha[..., None]
    out = np.asarray(canvas.convert("RGB"), np.float32) * a + np.asarray(
        generated.convert("RGB").resize(size, Image.LANCZOS), np.float32
    ) * (1 - a)
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8))
