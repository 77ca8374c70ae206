"""The shape of an agent's tool: its parameters (checked here, answered in words), its code, what a call knows,
and the result files a call hands out by URL."""

from __future__ import annotations

import base64
import binascii
import io
import math
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

PATH = "/gradio_api/mcp"  # where agents connect (the URL Gradio's MCP server used, so clients keep working)
REQUIRED = object()


class BadArgument(ValueError):
    """An agent's argument that is wrong, said in words (which parameter, what is allowed)."""


MAX_FILES = 20_000  # result URLs remembered (the oldest are forgotten first)


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # string | integer | number | boolean | array
    description: str
    default: Any = REQUIRED
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    max_length: int | None = None
    items: dict | None = None  # an array's item schema

    def schema(self) -> dict:
        s: dict[str, Any] = {"type": self.kind, "description": self.description}
        if self.default is not REQUIRED and self.default is not None:
            s["default"] = self.default
        if self.low is not None:
            s["minimum"] = self.low
        if self.high is not None:
            s["maximum"] = self.high
        if self.choices:
            s["enum"] = list(self.choices)
        if self.max_length:
            s["maxLength"] = self.max_length
        if self.items:
            s["items"] = self.items
        return s

    def check(self, value) -> Any:
        """The value as the tool uses it; BadArgument says what was wrong and what is allowed."""
        name, kind = self.name, self.kind
        if value is None:
            if self.default is REQUIRED:
                raise BadArgument(f"{name} is missing: {self.description}")
            return self.default
        if kind == "boolean":
            if not isinstance(value, bool):
                raise BadArgument(f"{name} must be true or false")
            return value
        if kind in ("integer", "number"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise BadArgument(f"{name} must be a number{self._range()}")
            if kind == "integer":
                if value != int(value):
                    raise BadArgument(f"{name} must be a whole number{self._range()}")
                value = int(value)
            if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
                raise BadArgument(f"{name} {value:g} is out of range{self._range()}")
            return value
        if kind == "string":
            if not isinstance(value, str):
                raise BadArgument(f"{name} must be text")
            if self.max_length and len(value) > self.max_length:
                raise BadArgument(f"{name} is {len(value):,} characters long; at most {self.max_length:,}")
            if self.choices and value not in self.choices:
                raise BadArgument(f"{name} must be one of: {', '.join(self.choices)}")
            return value
        if kind == "array":
            if not isinstance(value, list):
                raise BadArgument(f"{name} must be a list")
            return value
        raise AssertionError(kind)

    def _range(self) -> str:
        if self.low is not None and self.high is not None:
            return f": {self.low:g} to {self.high:g}"
        return ""


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    params: tuple[Param, ...]
    run: Callable[..., Awaitable[tuple[list, dict]]]
    output: dict | None = None
    title: str = ""
    read_only: bool = False

    def definition(self, types):
        required = [p.name for p in self.params if p.default is REQUIRED]
        schema = {
            "type": "object",
            "properties": {p.name: p.schema() for p in self.params},
            "additionalProperties": False,
        }
        if required:
            schema["required"] = required
        return types.Tool(
            name=self.name,
            title=self.title or None,
            description=self.description,
            inputSchema=schema,
            outputSchema=self.output,
            annotations=types.ToolAnnotations(readOnlyHint=self.read_only, openWorldHint=False),
        )

    def arguments(self, given: dict) -> dict:
        known = {p.name for p in self.params}
        unknown = sorted(set(given) - known)
        if unknown:
            takes = ", ".join(p.name for p in self.params) or "no parameters"
            raise BadArgument(f"{self.name} has no parameter {', '.join(unknown)}; it takes: {takes}")
        return {p.name: p.check(given.get(p.name)) for p in self.params}


@dataclass
class Call:
    """What a tool's code needs about the call it serves: the Hub, who asks, where results are fetched, and how to
    report progress."""

    hub: Any
    who: Any
    base_url: str
    files: Files
    progress: Callable[[float, float | None, str], Awaitable[None]]

    def url(self, path) -> str:
        return f"{self.base_url}{PATH}/files/{self.files.add(path)}"


@dataclass
class Files:
    """Result files by an unguessable name: whoever was given the URL can fetch it, nobody can list them."""

    paths: OrderedDict = field(default_factory=OrderedDict)

    def add(self, path) -> str:
        path = Path(path)
        name = f"{secrets.token_urlsafe(18)}{path.suffix}"
        self.paths[name] = path
        while len(self.paths) > MAX_FILES:
            self.paths.popitem(last=False)
        return name

    def get(self, name: str) -> Path | None:
        return self.paths.get(name)


def image_content(types, path_or_image) -> Any:
    if isinstance(path_or_image, (str, Path)):
        data = Path(path_or_image).read_bytes()
    else:
        buf = io.BytesIO()
        path_or_image.save(buf, format="PNG")
        data = buf.getvalue()
    return types.ImageContent(type="image", data=base64.b64encode(data).decode("ascii"), mimeType="image/png")


def decode_image(param: str, value: str) -> bytes:
    """An image an agent sent as base64 (or a data: URL). Never a path: a string is never read from disk."""
    text = value.strip()
    if text.startswith("data:"):
        head, _, text = text.partition(",")
        if ";base64" not in head:
            raise BadArgument(f"{param}: a data: URL must be base64 (data:image/png;base64,...)")
    if text.startswith(("http://", "https://", "/", "file:")):
        raise BadArgument(f"{param}: send the image itself, base64-encoded (or as a data:image/png;base64 URL)")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadArgument(f"{param} is not base64: send the image file's bytes base64-encoded") from None
