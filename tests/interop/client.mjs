// The official MCP TypeScript SDK as an agent would use it, against warden.
// usage: node client.mjs http URL TOKEN      (Streamable HTTP with a bearer token)
//        node client.mjs stdio WARDEN CONFIG (launches `warden stdio --config CONFIG`)
// Prints one JSON object: the tools it saw and the results of a few calls.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [mode, target, extra] = process.argv.slice(2);
const transport =
  mode === "http"
    ? new StreamableHTTPClientTransport(new URL(target), {
        requestInit: { headers: { Authorization: `Bearer ${extra}` } },
      })
    : new StdioClientTransport({ command: target, args: ["stdio", "--config", extra], stderr: "ignore" });

const client = new Client({ name: "warden-interop", version: "1.0.0" });
await client.connect(transport);
const { tools } = await client.listTools();

async function call(name, args) {
  try {
    const r = await client.callTool({ name, arguments: args });
    return { isError: r.isError === true, text: r.content.map((c) => c.text).join("\n") };
  } catch (e) {
    return { protocolError: String(e.message ?? e) };
  }
}

const out = {
  tools: tools.map((t) => ({ name: t.name, readOnly: t.annotations?.readOnlyHint })),
  read: await call("siem.get_alert", { alert_id: "ALR-2001" }),
  forbidden: await call("edr.isolate_host", { host: "dc01", incident: "INC-1042" }),
  unknown: await call("edr.wipe_host", { host: "ws-042" }),
};
console.log(JSON.stringify(out));
await client.close();
