"""The hub's tools for agents over MCP (the official `mcp` SDK), served beside the web hub at /gradio_api/mcp/.

Gradio's own MCP server turns each web endpoint into a tool as it is: a tool's result is the repr of whatever the
page receives (a gallery's list of temp paths, `{'__type__': 'update'}`), parameters are required unless the
Python function has a default, a Radio of numbers gets a string schema, and a Chatbot's state breaks `chat`. An
agent needs the opposite, so the tools are written here for it, on the same Hub the web endpoints call:

- each tool is named as the web endpoint that does the same thing (`/imagine` is `imagine`), every parameter is
  described with its units, range and default, and only what has no sensible default is required;
- arguments are checked here first, and a wrong one is answered in words (which parameter, what is allowed);
- images come back as MCP image content *and* as structured JSON (job id, seeds, size, model, settings, and URLs
  the client can fetch: unguessable names, served to whoever holds them, as the web hub serves results);
- every MCP session is a user of its own (demos/identity.py derives its id from the session id the server
  issued), so `history` shows that connection's jobs, and a job id from another session opens only if shared;
- the Learn tools train to the end and return their final pictures as images and their curves as numbers.
"""

from demos.agents.schema import PATH
from demos.agents.server import Agents, install

__all__ = ["PATH", "Agents", "install"]
