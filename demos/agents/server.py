"""The MCP endpoint (streamable HTTP, one session per client) and the result files, as an ASGI app mounted on
the web hub."""

from __future__ import annotations

import asyncio
import logging

from demos.agents.schema import PATH, BadArgument, Call, Files
from demos.agents.tools import build_tools
from demos.common import origin
from hub.errors import LienzoError

log = logging.getLogger("lienzo.mcp")


class Agents:
    """An ASGI app: the MCP endpoint (streamable HTTP, one session per client) and the result files."""

    def __init__(self, hub):
        from mcp import types
        from mcp.server.lowlevel import Server
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

        self.hub, self.types = hub, types
        self.tools = build_tools(hub)
        self.files = Files()
        server = Server("Lienzo", instructions=_INSTRUCTIONS)
        self.server = server

        @server.list_tools()
        async def list_tools():
            return [t.definition(types) for t in self.tools.values()]

        @server.call_tool(validate_input=False)  # checked here, answered in words
        async def call_tool(name: str, arguments: dict):
            return await self.call(name, arguments or {})

        self.manager = StreamableHTTPSessionManager(app=server, json_response=False, stateless=False)
        self._running: asyncio.Task | None = None
        self._ready = asyncio.Event()

    async def call(self, name: str, arguments: dict):
        types = self.types
        tool = self.tools.get(name)

        def failed(message: str):
            return types.CallToolResult(content=[types.TextContent(type="text", text=message)], isError=True)

        if tool is None:
            return failed(f"there is no tool {name[:60]!s}; the tools are: {', '.join(self.tools)}")
        ctx = self.server.request_context
        request = ctx.request
        token = ctx.meta.progressToken if ctx.meta is not None else None

        async def progress(done, total, message):
            if token is not None:
                await ctx.session.send_progress_notification(
                    token, float(done), float(total) if total else None, message, related_request_id=ctx.request_id
                )

        try:
            args = tool.arguments(arguments)
            call = Call(self.hub, origin(request), _base_url(request), self.files, progress)
            content, data = await tool.run(call, types, args)
        except (BadArgument, LienzoError) as exc:  # a wrong argument, or what the Hub refused, in words
            return failed(str(exc))
        except Exception:
            log.exception("MCP tool %s failed", name)
            return failed(f"{name} failed because of a fault on the server (it was logged); try again later")
        return types.CallToolResult(content=content, structuredContent=data, isError=False)

    async def _serve(self):
        async with self.manager.run():
            self._ready.set()
            await asyncio.Event().wait()  # until the server's loop ends

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        path = scope.get("path", "")
        if "/files/" in path:  # the path as the Mount hands it on, with or without PATH in front
            return await self._file(path.rsplit("/files/", 1)[1], scope, receive, send)
        if self._running is None:
            self._running = asyncio.ensure_future(self._serve())
        await self._ready.wait()
        await self.manager.handle_request(scope, receive, send)

    async def _file(self, name, scope, receive, send):
        from starlette.responses import FileResponse, PlainTextResponse

        path = self.files.get(name)
        if path is None or not path.is_file():
            response = PlainTextResponse("no such file (result links last as long as the server runs)", 404)
        else:
            response = FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
        await response(scope, receive, send)


_INSTRUCTIONS = (
    "Lienzo draws images from text (imagine), varies, upscales and mixes them, describes images, and teaches how "
    "generative models work (the explain_* tools train small models live). Results come as image content plus "
    "structured data with a job_id; pass job_id and a 1-based image index to vary, vary_strong, upscale or "
    "enhance_draft. Images you send are base64-encoded files."
)


def _base_url(request) -> str:
    """The address the client reached this server at (behind a proxy: the forwarded scheme and host)."""
    headers = request.headers
    scheme = headers.get("x-forwarded-proto", request.url.scheme).split(",")[0].strip()
    host = headers.get("x-forwarded-host", headers.get("host", request.url.netloc)).split(",")[0].strip()
    return f"{scheme}://{host}"


class _ClosedStreams(logging.Filter):
    """The SDK logs a client's normal hang-up of its notification stream as an error with a traceback (anyio's
    ClosedResourceError in the standalone SSE writer); that one record is dropped, every other error kept."""

    def filter(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        return not (exc is not None and type(exc).__name__ == "ClosedResourceError" and "SSE writer" in record.msg)


logging.getLogger("mcp.server.streamable_http").addFilter(_ClosedStreams())


def install(app, hub) -> Agents:
    """Serve the tools at PATH on a Starlette/FastAPI app (first, so that no catch-all route of Gradio's wins)."""
    from starlette.routing import Mount

    agents = Agents(hub)
    app.router.routes.insert(0, Mount(PATH, app=agents))
    return agents
