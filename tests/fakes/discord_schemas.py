"""Discord's own request schemas, for the local fake to check what the bot sends.

`discord_schemas.json` holds the request bodies of the routes the bot calls, with every schema they refer to,
cut from Discord's published OpenAPI description (github.com/discord/discord-api-spec, specs/openapi.json,
MIT licence, copyright 2023 Discord; the commit is recorded in the file). Refresh it with

    python tests/fakes/discord_schemas.py path/to/discord-api-spec/specs/openapi.json COMMIT

The rules Discord documents in prose rather than in the schema (required options before optional ones) are
checked in tests/fakes/discord_api.py.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import jsonschema

HERE = Path(__file__).with_name("discord_schemas.json")
# (method, route as the fake names it, route as the spec names it)
ROUTES = (
    ("POST", "callback", "/interactions/{interaction_id}/{interaction_token}/callback"),
    ("POST", "followup", "/webhooks/{webhook_id}/{webhook_token}"),
    ("PATCH", "webhook_edit", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"),
    ("POST", "channel_message", "/channels/{channel_id}/messages"),
    ("PATCH", "channel_edit", "/channels/{channel_id}/messages/{message_id}"),
    ("PUT", "commands", "/applications/{application_id}/commands"),
)


def extract(spec: dict, commit: str) -> dict:
    schemas = spec["components"]["schemas"]
    routes, needed, todo = {}, set(), []
    for method, name, path in ROUTES:
        body = spec["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]
        routes[name] = body
        todo.append(body)
    while todo:
        for ref in re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(todo.pop())):
            if ref not in needed:
                needed.add(ref)
                todo.append(schemas[ref])
    return {
        "source": "https://github.com/discord/discord-api-spec/blob/" + commit + "/specs/openapi.json",
        "licence": "MIT, Copyright 2023 Discord",
        "openapi": spec["openapi"],
        "routes": routes,
        "components": {"schemas": {k: schemas[k] for k in sorted(needed)}},
    }


class Checker:
    """Validates a request body against the route's schema; returns a list of problems (empty: accepted)."""

    def __init__(self, path: Path = HERE):
        data = json.loads(path.read_text())
        self.validators = {
            name: jsonschema.Draft202012Validator({**schema, "components": data["components"]})
            for name, schema in data["routes"].items()
        }

    def problems(self, route: str, body) -> list[str]:
        errors = sorted(self.validators[route].iter_errors(body), key=lambda e: list(e.absolute_path))
        return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message[:200]}" for e in errors]


if __name__ == "__main__":
    HERE.write_text(json.dumps(extract(json.loads(Path(sys.argv[1]).read_text()), sys.argv[2]), indent=1) + "\n")
    print(f"wrote {HERE} ({HERE.stat().st_size // 1024} KiB)")
