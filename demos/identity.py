"""Who a web visitor is, in a way the visitor cannot choose.

Gradio's `session_hash` is picked by the client, so it must never be a user id: anyone who learnt another
visitor's hash could open their history. Instead every visitor carries an id the server issued and signed
(HMAC-SHA256 with the server's key, `Hub.secret_key()`), as the `lienzo_id` cookie:

- a browser gets it with the first page and sends it back on every request (HttpOnly; over https also
  `Secure; SameSite=None; Partitioned`, so it works inside the Hugging Face Spaces iframe);
- `gradio_client` keeps the cookies of the app's config response, so each `Client` is its own visitor;
  passing the same cookie (or the `X-Lienzo-Id` header) to a later `Client` continues as the same visitor;
- a request with no id, or with a forged or tampered one, gets a fresh id.

- an MCP client, which sends no cookies, is one visitor per MCP session (`mcp-session-id`, issued by the server).

`IdentityMiddleware` (plain ASGI, so streaming responses pass untouched) verifies the id once per request and
hands it to the app as the `x-lienzo-user` header, with a proof only this process knows; a copy of those
headers without the proof is dropped. A logged-in name (Gradio auth, Hugging Face OAuth) wins over the id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

COOKIE = "lienzo_id"
HEADER = b"x-lienzo-id"  # an API caller may pass its id here instead of the cookie
_USER, _PROOF = b"x-lienzo-user", b"x-lienzo-proof"
_NONCE = secrets.token_hex(16)  # proves a header came from this process's middleware, not from a client
MAX_AGE = 400 * 24 * 3600  # the longest lifetime browsers keep a cookie


class Signer:
    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("the signing key is too short")
        self._key = key

    def _sign(self, uid: str) -> str:
        return hmac.new(self._key, f"lienzo-id:{uid}".encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> tuple[str, str]:
        """(a new visitor id, its signed token)."""
        uid = secrets.token_hex(12)
        return uid, f"{uid}.{self._sign(uid)}"

    def derive(self, secret: bytes) -> str:
        """A stable visitor id for a value the server itself issued (an MCP session id)."""
        return hmac.new(self._key, b"lienzo-derived:" + secret, hashlib.sha256).hexdigest()[:24]

    def verify(self, token: str | None) -> str | None:
        """The id inside a token this server signed, or None."""
        if not token or len(token) > 100 or token.count(".") != 1:
            return None
        uid, sig = token.split(".")
        if len(uid) != 24 or not all(c in "0123456789abcdef" for c in uid):
            return None
        return uid if hmac.compare_digest(sig, self._sign(uid)) else None


def _cookie(header: bytes) -> str | None:
    for part in header.decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value.strip().strip('"')
    return None


class IdentityMiddleware:
    def __init__(self, app, signer: Signer):
        self.app, self.signer = app, signer

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        raw = dict(scope.get("headers", []))
        headers = [(k, v) for k, v in scope.get("headers", []) if k not in (_USER, _PROOF)]
        if raw.get(_PROOF) == _NONCE.encode() and raw.get(_USER):
            # Gradio's MCP server runs queued tools through an in-process client, forwarding the MCP request's
            # headers: the proof only this process knows shows the id was verified on the way in
            return await self.app(
                {**scope, "headers": headers + [(_USER, raw[_USER]), (_PROOF, raw[_PROOF])]}, receive, send
            )
        token = None
        for k, v in headers:
            if k == b"cookie" and token is None:
                token = _cookie(v)
            elif k == HEADER:
                token = v.decode("latin-1").strip()
        uid = self.signer.verify(token)
        fresh = None
        if uid is None and raw.get(b"mcp-session-id"):
            # an MCP client sends no cookies: its connection is its identity (the session id the MCP server issued)
            uid = self.signer.derive(b"mcp:" + raw[b"mcp-session-id"][:200])
        if uid is None:
            uid, fresh = self.signer.issue()
        headers += [(_USER, uid.encode()), (_PROOF, _NONCE.encode())]
        scope = {**scope, "headers": headers}
        if fresh is None or scope["type"] != "http":
            return await self.app(scope, receive, send)
        https = scope.get("scheme") == "https" or dict(headers).get(b"x-forwarded-proto", b"") == b"https"
        attrs = "; Secure; SameSite=None; Partitioned" if https else "; SameSite=Lax"
        cookie = f"{COOKIE}={fresh}; Path=/; Max-Age={MAX_AGE}; HttpOnly{attrs}".encode()

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        return await self.app(scope, receive, send_with_cookie)


def visitor(request) -> str | None:
    """The verified visitor id of a Gradio request (None when the request did not pass the middleware)."""
    headers = getattr(request, "headers", None) or {}
    if headers.get(_PROOF.decode()) != _NONCE:
        return None
    return headers.get(_USER.decode())
