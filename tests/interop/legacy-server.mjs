// An MCP server of the legacy line (`@modelcontextprotocol/sdk` 1.x) over Streamable HTTP: it
// knows only the `initialize` handshake, as many servers in the registries do today. It serves
// one tool, `get_alert`, and prints its URL on stdout once it listens. With `stdio` it serves
// over stdin/stdout instead, and its answers say whether `SIEM_TOKEN` reached its environment
// (the credential tests give it one from a file).
// usage: node legacy-server.mjs [stdio]
import http from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

function server() {
  const s = new McpServer({ name: "legacy-siem", version: "1.0.0" });
  s.tool("get_alert", "One SIEM alert by id.", { alert_id: z.string() }, async ({ alert_id }) => ({
    content: [
      {
        type: "text",
        text: `Alert ${alert_id} from a legacy server; SIEM_TOKEN=${process.env.SIEM_TOKEN ?? "unset"}`,
      },
    ],
  }));
  return s;
}

if (process.argv[2] === "stdio") {
  await server().connect(new StdioServerTransport());
} else {
  serveHttp();
}

function serveHttp() {
  const listener = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    // One server and transport per request, without sessions (the SDK's stateless pattern).
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => transport.close());
    await server().connect(transport);
    await transport.handleRequest(req, res, body ? JSON.parse(body) : undefined);
  });
  listener.listen(0, "127.0.0.1", () => {
    console.log(`http://127.0.0.1:${listener.address().port}/mcp`);
  });
}
