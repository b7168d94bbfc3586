// The official MCP TypeScript SDK (`@modelcontextprotocol/client`, its default mode) as an agent
// would use it: lists the tools warden shows it, then makes each call given.
// usage: node calls.mjs URL TOKEN '[{"name": "...", "arguments": {...}}, ...]'
// Prints one JSON object: the tool names it saw and, per call, its text or its error.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const [url, token, callsJson] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "warden-interop", version: "1.0.0" });
await client.connect(transport);
const { tools } = await client.listTools();
const results = [];
for (const { name, arguments: args } of JSON.parse(callsJson)) {
  try {
    const r = await client.callTool({ name, arguments: args });
    results.push({ isError: r.isError === true, text: r.content.map((c) => c.text ?? "").join("\n") });
  } catch (e) {
    results.push({ protocolError: String(e.message ?? e) });
  }
}
console.log(JSON.stringify({ tools: tools.map((t) => t.name), results }));
await client.close();
