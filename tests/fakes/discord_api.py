"""A local fake of the parts of Discord's HTTP API the bot uses, enforcing Discord's documented limits.

discord.py's real HTTP code talks to it (discord.http.Route.BASE points here). Every request is
recorded; a request that breaks a rule gets Discord's error status and code and is listed in
`violations`, so a test fails when the bot breaks a rule. Tests wait on `wait_for(predicate)`,
which wakes on every request: nothing sleeps.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from aiohttp import web

from bots import limits
from tests.fakes.discord_schemas import Checker

SCHEMAS = Checker()

DISCORD_EPOCH_MS = 1420070400000
_ids = itertools.count(1)


def snowflake(at: float | None = None) -> str:
    ms = int((time.time() if at is None else at) * 1000) - DISCORD_EPOCH_MS
    return str((ms << 22) | (next(_ids) & 0x3FFFFF))


@dataclass
class Interaction:
    id: str
    token: str
    injected: float  # monotonic time it was sent to the bot: the 3 s rule counts from here
    created_wall: float  # wall time in its snowflake: the 15-minute token counts from here
    acked: bool = False
    ack_after: float | None = None
    ack_type: int | None = None
    original: dict | None = None
    message_id: str | None = None  # a component's interaction: the message the component is on
    modal: dict | None = None  # the modal it was answered with (callback type 9)


@dataclass
class Fake:
    upload_limit: int = limits.DEFAULT_UPLOAD
    app_id: str = field(default_factory=snowflake)
    bot_id: str = field(default_factory=snowflake)
    requests: list[tuple[str, str, dict]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    interactions: dict[str, Interaction] = field(default_factory=dict)
    messages: dict[str, dict] = field(default_factory=dict)
    commands: list[dict] = field(default_factory=list)
    rate_limit_next: int = 0  # answer this many message edits with 429 (Discord's per-route limit)
    rate_limited: int = 0
    cdn: dict[str, tuple[bytes, float]] = field(default_factory=dict)  # attachment files: name -> (bytes, delay s)

    def __post_init__(self):
        self._changed = asyncio.Condition()
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        r = self.app.router
        r.add_get("/api/v10/users/@me", self.me)
        r.add_get("/api/v10/oauth2/applications/@me", self.application)
        r.add_put("/api/v10/applications/{app}/commands", self.sync)
        r.add_put("/api/v10/applications/{app}/guilds/{guild}/commands", self.sync)
        r.add_post("/api/v10/interactions/{id}/{token}/callback", self.callback)
        r.add_route("*", "/api/v10/webhooks/{app}/{token}/messages/{message}", self.webhook_message)
        r.add_post("/api/v10/webhooks/{app}/{token}", self.followup)
        r.add_post("/api/v10/channels/{channel}/messages", self.channel_message)
        r.add_patch("/api/v10/channels/{channel}/messages/{message}", self.channel_edit)
        r.add_get("/cdn/{name}", self.cdn_file)

    # --- running -------------------------------------------------------------------------------
    async def start(self) -> str:
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]

        self.host = f"http://127.0.0.1:{port}"
        return f"{self.host}/api/v10"

    def attach(
        self,
        name: str,
        data: bytes,
        width: int = 0,
        height: int = 0,
        content_type: str = "image/png",
        delay: float = 0.0,
        size: int | None = None,
    ) -> dict:
        """An attachment as Discord resolves it in an interaction, its file on this fake's CDN. `delay`: seconds
        the CDN takes to send it (in ten slices); `size`: what Discord reports, if not the truth."""
        self.cdn[name] = (data, delay)
        return {
            "id": snowflake(),
            "filename": name,
            "size": len(data) if size is None else size,
            "content_type": content_type,
            "url": f"{self.host}/cdn/{name}",
            "proxy_url": f"{self.host}/cdn/{name}",
            "width": width,
            "height": height,
        }

    async def cdn_file(self, request: web.Request) -> web.StreamResponse:
        data, delay = self.cdn[request.match_info["name"]]
        resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await resp.prepare(request)
        step = -(-len(data) // 10) or 1
        for i in range(0, len(data), step):
            if delay:
                await asyncio.sleep(delay / 10)  # the slow CDN itself, not a test waiting
            await resp.write(data[i : i + step])
        await resp.write_eof()
        return resp

    async def stop(self) -> None:
        await self.runner.cleanup()

    async def wait_for(self, predicate, timeout: float = 60.0):
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
        return predicate()

    async def _record(self, request: web.Request, payload: dict) -> None:
        self.requests.append((request.method, request.path, payload))
        async with self._changed:
            self._changed.notify_all()

    def _error(self, status: int, code: int, message: str) -> web.Response:
        self.violations.append(f"{status}/{code}: {message}")
        return _json({"code": code, "message": message}, status=status)

    # --- payloads ------------------------------------------------------------------------------
    def user(self, uid: str, name: str | None = None) -> dict:
        return {
            "id": uid,
            "username": name or f"user{uid[-4:]}",
            "discriminator": "0",
            "avatar": None,
            "global_name": None,
            "bot": uid == self.bot_id,
        }

    def interaction(
        self,
        kind: int,
        data: dict,
        user_id: str,
        channel_id: str = "900",
        age: float = 0.0,
        message: dict | None = None,
        resolved: dict | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> dict:
        """An INTERACTION_CREATE payload; `age` seconds makes its token that old already. With `permissions`, it
        comes from a server (guild) member whose permissions in the channel are these bits, as Discord computes
        them for the interaction (roles and channel overwrites included)."""
        created = time.time() - age
        iid, token = snowflake(created), f"tok{next(_ids)}"
        self.interactions[token] = Interaction(iid, token, time.monotonic(), created)
        payload = {
            "id": iid,
            "application_id": self.app_id,
            "type": kind,
            "token": token,
            "version": 1,
            "channel_id": channel_id,
            "channel": {"id": channel_id, "type": 1},
            "user": self.user(user_id),
            "data": dict(data),
            "locale": locale,  # the user's client language
            "app_permissions": "0",
            "entitlements": [],
            "authorizing_integration_owners": {"1": user_id},
            "context": 1,
            "attachment_size_limit": self.upload_limit,
        }
        if permissions is not None:
            payload["guild_id"] = GUILD_ID
            payload["member"] = {
                "user": payload.pop("user"),
                "roles": [],
                "joined_at": "2026-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "permissions": str(permissions),
            }
        if resolved:
            payload["data"]["resolved"] = resolved
        if message is not None:
            payload["message"] = message
            self.interactions[token].message_id = message["id"]
        return payload

    def command(
        self,
        name: str,
        user_id: str,
        age: float = 0.0,
        attachments: dict | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
        **options,
    ) -> dict:
        cmd = next(c for c in self.commands if c["name"] == name)
        declared = {o["name"]: o["type"] for o in cmd.get("options") or []}  # a boolean arrives as type 5, true
        opts = [{"name": k, "type": declared.get(k, 3), "value": v} for k, v in options.items()]
        resolved = None
        if attachments:
            resolved = {"attachments": {}}
            for opt_name, att in attachments.items():
                opts.append({"name": opt_name, "type": 11, "value": att["id"]})
                resolved["attachments"][att["id"]] = att
        return self.interaction(
            2,
            {"id": cmd["id"], "name": name, "type": 1, "options": opts},
            user_id,
            age=age,
            resolved=resolved,
            permissions=permissions,
            locale=locale,
        )

    def click(self, message: dict, custom_id: str, user_id: str, age: float = 0.0) -> dict:
        return self.interaction(
            3,
            {"custom_id": custom_id, "component_type": 2},
            user_id,
            channel_id=message["channel_id"],
            age=age,
            message=message,
        )

    def select(self, message: dict, custom_id: str, values: list[str], user_id: str) -> dict:
        """A choice in a string select menu (component type 3) of `message`."""
        data = {"custom_id": custom_id, "component_type": 3, "values": list(values)}
        return self.interaction(3, data, user_id, channel_id=message["channel_id"], message=message)

    def submit(self, modal: dict, values: dict[str, str], user_id: str, locale: str = "en-US") -> dict:
        """A modal the bot opened (its callback's data), submitted with `values` by text input custom_id, in
        Discord's shape: each text input inside an action row, its value typed."""
        inputs = [c for row in modal.get("components", []) for c in _children(row) if c.get("type") == 4]
        typed = [{"type": 4, "custom_id": c["custom_id"], "value": values.get(c["custom_id"], "")} for c in inputs]
        rows = [{"type": 1, "components": [c]} for c in typed]
        return self.interaction(5, {"custom_id": modal["custom_id"], "components": rows}, user_id, locale=locale)

    def _message(self, channel_id: str, body: dict, files: list[tuple[str, bytes]], mid: str | None = None) -> dict:
        mid = mid or snowflake()
        old = self.messages.get(mid, {})
        attachments = [
            {
                "id": snowflake(),
                "filename": name,
                "size": len(data),
                "url": f"https://cdn.discordapp.com/{name}",
                "proxy_url": f"https://media.discordapp.net/{name}",
                "content_type": _type(name),
                "_bytes": data,
            }
            for name, data in files
        ]
        if not files and "attachments" in body:
            keep = {a.get("id") for a in body["attachments"]}
            attachments = [a for a in old.get("attachments", []) if a["id"] in keep]
        elif not files:
            attachments = old.get("attachments", [])
        msg = {
            "id": mid,
            "channel_id": channel_id,
            "type": 0,
            "content": body.get("content", old.get("content", "")),
            "author": self.user(self.bot_id, "Lienzo"),
            "attachments": attachments,
            "embeds": [],
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "mention_everyone": False,
            "tts": False,
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "edited_timestamp": None,
            "flags": body.get("flags", 0),
            "components": body.get("components", old.get("components", [])),
        }
        self.messages[mid] = msg
        return msg

    @staticmethod
    def public(msg: dict) -> dict:
        return {**msg, "attachments": [{k: v for k, v in a.items() if k != "_bytes"} for a in msg["attachments"]]}

    async def _body(self, request: web.Request) -> tuple[dict, list[tuple[str, bytes]]]:
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            body = json.loads(form.get("payload_json", "{}"))
            files = [(f.filename, f.file.read()) for k, f in form.items() if k.startswith("files[")]
            return body, files
        text = await request.text()
        return (json.loads(text) if text else {}), []

    def _check_message(self, body: dict, files: list[tuple[str, bytes]]) -> web.Response | None:
        ping = _pings(body)
        if ping:  # Discord accepts the message and pings: record it as a rule the bot broke
            self.violations.append(
                f"message would ping {ping}: content {body.get('content', '')[:80]!r} with "
                f"allowed_mentions {body.get('allowed_mentions')!r}"
            )
        if len(body.get("content") or "") > limits.CONTENT:
            return self._error(400, 50035, f"content is {len(body['content'])} characters (max {limits.CONTENT})")
        rows = body.get("components") or []
        if len(rows) > limits.ROWS:
            return self._error(400, 50035, f"{len(rows)} action rows (max {limits.ROWS})")
        seen = set()
        for row in rows:
            if len(row.get("components", [])) > limits.BUTTONS_PER_ROW:
                return self._error(400, 50035, "more than 5 components in a row")
            for c in row.get("components", []):
                cid = c.get("custom_id", "")
                if not 1 <= len(cid) <= limits.CUSTOM_ID or cid in seen:
                    return self._error(400, 50035, f"bad or duplicate custom_id {cid!r}")
                if len(c.get("label") or "") > limits.LABEL:
                    return self._error(400, 50035, "button label over 80 characters")
                seen.add(cid)
        if len(files) > limits.FILES:
            return self._error(400, 50035, f"{len(files)} files (max {limits.FILES})")
        if any(len(data) > self.upload_limit for _, data in files) or sum(len(d) for _, d in files) > 25 * 2**20:
            return self._error(413, 40005, "Request entity too large")
        return None

    def _schema(self, route: str | None, body) -> web.Response | None:
        """Discord's published schema for the route's body (tests/fakes/discord_schemas.py): what it refuses,
        this fake refuses, with Discord's 400 / 50035 "Invalid Form Body"."""
        if route is None:
            return None
        problems = SCHEMAS.problems(route, body)
        return self._error(400, 50035, f"Invalid Form Body ({route}): " + "; ".join(problems[:3])) if problems else None

    def _token(self, token: str) -> Interaction | web.Response:
        it = self.interactions.get(token)
        if it is None:
            return self._error(401, 50027, "Invalid Webhook Token")
        if time.time() - it.created_wall > limits.TOKEN_SECONDS:
            return self._error(401, 50027, "Invalid Webhook Token")
        return it

    # --- routes --------------------------------------------------------------------------------
    async def me(self, request):
        await self._record(request, {})
        return _json(self.user(self.bot_id, "Lienzo"))

    async def application(self, request):
        await self._record(request, {})
        return _json(
            {
                "id": self.app_id,
                "name": "Lienzo",
                "icon": None,
                "description": "",
                "rpc_origins": [],
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.user(snowflake()),
                "verify_key": "0" * 64,
                "flags": 0,
                "interactions_endpoint_url": None,
                "summary": "",
                "team": None,
            }
        )

    async def sync(self, request):
        body = json.loads(await request.text())
        await self._record(request, {"commands": body})
        if (bad := self._schema("commands", body)) is not None:
            return bad
        for cmd in body:
            problem = command_problem(cmd)
            if problem:
                return self._error(400, 50035, problem)
        self.commands = [{**c, "id": snowflake(), "application_id": self.app_id, "version": snowflake()} for c in body]
        return _json(self.commands)

    async def callback(self, request):
        it = self.interactions.get(request.match_info["token"])
        body, files = await self._body(request)
        await self._record(request, body)
        if (bad := self._schema("callback", body)) is not None:
            return bad
        if it is None or it.id != request.match_info["id"]:
            return self._error(404, 10062, "Unknown interaction")
        if it.acked:
            return self._error(400, 40060, "Interaction has already been acknowledged")
        elapsed = time.monotonic() - it.injected
        if elapsed > limits.ACK_SECONDS:
            return self._error(404, 10062, f"Unknown interaction (answered after {elapsed:.1f} s)")
        problem = self._check_message(body.get("data") or {}, files)
        if problem:
            return problem
        kind = body.get("type")
        it.acked, it.ack_after, it.ack_type = True, elapsed, kind
        if kind in (4, 5):
            it.original = self._message("900", body.get("data") or {}, files)
        elif kind in (6, 7) and it.message_id in self.messages:  # a component's: the message it is on
            it.original = self.messages[it.message_id]
            if kind == 7:
                it.original = self._message(it.original["channel_id"], body.get("data") or {}, files, it.message_id)
        elif kind == 9:
            it.modal = body.get("data")
        if request.query.get("with_response") not in ("1", "true"):
            return web.Response(status=204)
        flags = (body.get("data") or {}).get("flags", 0)
        callback = {
            "id": it.id,
            "type": 2,
            "response_message_id": it.original["id"] if it.original else None,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(flags & 64),
        }
        resource = {"type": kind}
        if kind == 4:
            resource["message"] = self.public(it.original)
        return _json({"interaction": callback, "resource": resource})

    async def webhook_message(self, request):
        token, which = request.match_info["token"], request.match_info["message"]
        body, files = await self._body(request)
        await self._record(request, body)
        if (bad := self._schema("webhook_edit" if request.method == "PATCH" else None, body)) is not None:
            return bad
        it = self._token(token)
        if isinstance(it, web.Response):
            return it
        if request.method == "PATCH" and self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            self.rate_limited += 1
            return web.Response(
                body=json.dumps(
                    {"message": "You are being rate limited.", "retry_after": 0.05, "global": False}
                ).encode(),
                status=429,
                headers={
                    "Content-Type": "application/json",
                    "Retry-After": "0.05",
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset-After": "0.05",
                    "X-RateLimit-Bucket": "fake",
                    "X-RateLimit-Scope": "user",
                    "Via": "1.1 google",
                },
            )
        msg = it.original if which == "@original" else self.messages.get(which)
        if msg is None:
            return self._error(404, 10008, "Unknown Message")
        if request.method == "DELETE":
            self.messages.pop(msg["id"], None)
            if which == "@original":
                it.original = None
            return web.Response(status=204)
        problem = self._check_message(body, files)
        if problem:
            return problem
        updated = self._message(msg["channel_id"], body, files, msg["id"])
        if which == "@original":
            it.original = updated
        return _json(self.public(updated))

    async def followup(self, request):
        body, files = await self._body(request)
        await self._record(request, body)
        if (bad := self._schema("followup", body)) is not None:
            return bad
        it = self._token(request.match_info["token"])
        if isinstance(it, web.Response):
            return it
        problem = self._check_message(body, files)
        return problem or _json(self.public(self._message("900", body, files)))

    async def channel_message(self, request):
        body, files = await self._body(request)
        await self._record(request, body)
        if (bad := self._schema("channel_message", body)) is not None:
            return bad
        problem = self._check_message(body, files)
        return problem or _json(self.public(self._message(request.match_info["channel"], body, files)))

    async def channel_edit(self, request):
        body, files = await self._body(request)
        await self._record(request, body)
        if (bad := self._schema("channel_edit", body)) is not None:
            return bad
        problem = self._check_message(body, files)
        return problem or _json(
            self.public(self._message(request.match_info["channel"], body, files, request.match_info["message"]))
        )

    # --- reading back ----------------------------------------------------------------------------
    def custom_ids(self, msg: dict) -> list[str]:
        return [c["custom_id"] for row in msg.get("components", []) for c in row.get("components", [])]


GUILD_ID = "700000000000000001"
MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>")


def _children(component: dict) -> list[dict]:
    """A layout component's children (an action row's components, a label's component)."""
    return component.get("components") or ([component["component"]] if component.get("component") else [])


def _pings(body: dict) -> str | None:
    """The first mention in a message's content that would ping, by Discord's rules: mentions in the content
    resolve unless `allowed_mentions` leaves them out (with no `allowed_mentions`, everything named resolves)."""
    allowed = body.get("allowed_mentions")
    for m in MENTION.finditer(body.get("content") or ""):
        found = m.group(0)
        if allowed is None:
            return found
        parse = set(allowed.get("parse", []))
        if found in ("@everyone", "@here"):
            hit = "everyone" in parse
        elif found.startswith("<@&"):
            hit = "roles" in parse or found[3:-1] in allowed.get("roles", [])
        else:
            hit = "users" in parse or found.strip("<@!>") in allowed.get("users", [])
        if hit:
            return found
    return None


def _json(data, status: int = 200) -> web.Response:
    # exactly "application/json", as Discord sends it: discord.py parses nothing else as JSON
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def _type(name: str) -> str:
    return {"png": "image/png", "webp": "image/webp", "jpg": "image/jpeg"}.get(
        name.rsplit(".", 1)[-1], "application/octet-stream"
    )


def command_problem(cmd: dict) -> str | None:
    """Discord's limits on one application command, or None when it keeps them: the documented ones its schema
    cannot say (lowercase names, 8000 characters in all, required options before optional ones, at every level
    of subcommands and groups)."""
    if not re.match(limits.COMMAND_NAME, cmd.get("name", "")) or cmd["name"] != cmd["name"].lower():
        return f"command name {cmd.get('name')!r} must be 1-32 lowercase characters"
    if not 1 <= len(cmd.get("description", "")) <= limits.DESCRIPTION:
        return f"/{cmd['name']}: description must be 1-100 characters"
    total = [len(cmd["name"]) + len(cmd["description"])]
    problem = _options_problem(f"/{cmd['name']}", cmd.get("options") or [], total)
    if problem:
        return problem
    if total[0] > 8000:
        return f"/{cmd['name']}: {total[0]} characters of names, descriptions and choices (max 8000)"
    return None


def _options_problem(where: str, options: list[dict], total: list[int]) -> str | None:
    if len(options) > limits.OPTIONS:
        return f"{where}: more than 25 options"
    optional_seen = False
    for o in options:
        if not re.match(limits.COMMAND_NAME, o["name"]) or o["name"] != o["name"].lower():
            return f"{where}: option name {o['name']!r} is invalid"
        if not 1 <= len(o.get("description", "")) <= limits.DESCRIPTION:
            return f"{where} {o['name']}: description must be 1-100 characters"
        if len(o.get("choices") or []) > limits.CHOICES:
            return f"{where} {o['name']}: more than 25 choices"
        total[0] += (
            len(o["name"])
            + len(o["description"])
            + sum(len(c["name"]) + len(str(c["value"])) for c in o.get("choices") or [])
        )
        if o.get("type") in (1, 2):  # a subcommand or a group: its own options, checked alike
            problem = _options_problem(f"{where} {o['name']}", o.get("options") or [], total)
            if problem:
                return problem
            continue
        if o.get("required"):
            if optional_seen:
                return f"{where}: required option {o['name']!r} comes after an optional one"
        else:
            optional_seen = True
    return None


def transcript(fake: Fake, actions: list[tuple[str, dict]]) -> str:
    """Markdown of a conversation: each user action, then what the bot sent for it, in order."""
    lines = []
    for said, payload in actions:
        token = payload["token"]
        lines.append(f"**{payload['user']['username']}** {said}")
        for method, path, body in fake.requests:
            if token not in path:
                continue
            if path.endswith("/callback"):
                kind = body.get("type")
                if kind == 5:
                    lines.append("> *Lienzo is thinking…*")
                    continue
                if kind == 6:
                    continue
                if kind == 9:
                    lines.append(f"> *a form opens: {body['data'].get('title', '')}*")
                body = body.get("data") or {}
            if method == "DELETE":
                gone = "the message is deleted" if "❌" in said else "the thinking message is removed"
                lines.append(f"> *({gone})*")
                continue
            if not body:
                continue
            parts = []
            if body.get("content"):
                parts.append(body["content"].replace("\n", "  \n> "))
            files = [a.get("filename") for a in body.get("attachments") or [] if a.get("filename")]
            if files:
                parts.append("📎 " + ", ".join(files))
            buttons = [
                c.get("label") or c.get("placeholder") or (c.get("emoji") or {}).get("name", "")
                for row in body.get("components") or []
                for c in row.get("components", [])
            ]
            if buttons:
                parts.append(" ".join(f"`[{b}]`" for b in buttons))
            flag = " *(only you can see this)*" if body.get("flags") == 64 else ""
            if parts:
                lines.append("> " + "  \n> ".join(parts) + flag)
        lines.append("")
    return "\n".join(lines)
