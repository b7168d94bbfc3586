"""The official MCP Python SDK as an agent would use it, against warden, in its default mode.

usage: python client.py http URL TOKEN       (Streamable HTTP with a bearer token)
       python client.py stdio WARDEN CONFIG  (launches `warden stdio --config CONFIG`)

Prints one JSON object: the protocol revision it speaks, the tools it saw and the results of a
few calls, the same shape as tests/interop/client.mjs. Over HTTP, when the SDK fails (warden
refused the token, say), it prints {"refused": {"status", "challenge", "error"}} instead, with
the first HTTP error status the SDK received and its `WWW-Authenticate`, and exits with 3.
"""

import asyncio
import json
import sys
import traceback

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client


async def call(client, name, args, meta=None):
    try:
        r = await client.call_tool(name, args, meta=meta)
    except Exception as e:  # a protocol error is part of what the test checks
        return {"protocolError": str(e)}
    text = "\n".join(getattr(c, "text", "") for c in r.content)
    return {"isError": bool(r.is_error), "text": text}


async def main():
    mode, target, extra = sys.argv[1:4]
    refused = {}
    if mode == "http":

        async def seen(response):
            if response.status_code >= 400 and "status" not in refused:
                refused["status"] = response.status_code
                refused["challenge"] = response.headers.get("www-authenticate", "")

        http = httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {extra}"}, event_hooks={"response": [seen]}
        )
        server = streamable_http_client(target, http_client=http)
    else:
        server = StdioServerParameters(command=target, args=["stdio", "--config", extra])
    try:
        out = await session(server)
    except BaseException as e:  # the SDK raises an exception group from its task group
        if not refused:
            raise
        traceback.print_exception(e)
        refused["error"] = repr(e)
        print(json.dumps({"refused": refused}))
        sys.exit(3)
    print(json.dumps(out))


async def session(server):
    async with Client(server) as client:
        tools = await client.list_tools()
        out = {
            "protocol": client.session.protocol_version,
            "tools": [
                {"name": t.name, "readOnly": (t.annotations.read_only_hint if t.annotations else None)}
                for t in tools.tools
            ],
            "read": await call(
                client, "siem.get_alert", {"alert_id": "ALR-2001"}, {"rationale": "triage of ALR-2001"}
            ),
            "forbidden": await call(client, "edr.isolate_host", {"host": "dc01", "incident": "INC-1042"}),
            "unknown": await call(client, "edr.wipe_host", {"host": "ws-042"}),
        }
    return out


asyncio.run(main())
