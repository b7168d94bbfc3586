// The official MCP TypeScript SDK as an agent would use it, against warden, in its default mode.
// usage: node client.mjs SDK http URL TOKEN      (Streamable HTTP with a bearer token)
//        node client.mjs v1 oauth URL ID:SECRET ISSUER (Streamable HTTP, the SDK's OAuth client
//                                                 credentials flow: it finds the authorization
//                                                 server from warden's 401 and metadata)
//        node client.mjs SDK stdio WARDEN CONFIG (launches `warden stdio --config CONFIG`)
// SDK is `v2` (`@modelcontextprotocol/client`, the current line, in its default mode: the
// `initialize` handshake), `v2-auto` (the same package probing `server/discover`: the sessionless
// 2026-07-28 revision) or `v1` (`@modelcontextprotocol/sdk`, the legacy line).
// Prints one JSON object: the tools it saw and the results of a few calls.
const [sdk, mode, target, extra, issuer] = process.argv.slice(2);
const lib =
  sdk.startsWith("v2")
    ? {
        ...(await import("@modelcontextprotocol/client")),
        ...(await import("@modelcontextprotocol/client/stdio")),
      }
    : {
        ...(await import("@modelcontextprotocol/sdk/client/index.js")),
        ...(await import("@modelcontextprotocol/sdk/client/streamableHttp.js")),
        ...(await import("@modelcontextprotocol/sdk/client/stdio.js")),
      };
async function clientCredentials(idAndSecret, expectedIssuer) {
  const { ClientCredentialsProvider } = await import(
    "@modelcontextprotocol/sdk/client/auth-extensions.js"
  );
  const [clientId, clientSecret] = idAndSecret.split(":");
  return new ClientCredentialsProvider({ clientId, clientSecret, expectedIssuer });
}
const transport =
  mode === "http"
    ? new lib.StreamableHTTPClientTransport(new URL(target), {
        requestInit: { headers: { Authorization: `Bearer ${extra}` } },
      })
    : mode === "oauth"
    ? new lib.StreamableHTTPClientTransport(new URL(target), {
        authProvider: await clientCredentials(extra, issuer),
      })
    : new lib.StdioClientTransport({ command: target, args: ["stdio", "--config", extra], stderr: "ignore" });

const client = new lib.Client(
  { name: "warden-interop", version: "1.0.0" },
  sdk === "v2-auto" ? { versionNegotiation: { mode: "auto" } } : undefined,
);
await client.connect(transport);
const { tools } = await client.listTools();

async function call(name, args, meta) {
  try {
    const r = await client.callTool({ name, arguments: args, ...(meta ? { _meta: meta } : {}) });
    return { isError: r.isError === true, text: r.content.map((c) => c.text).join("\n") };
  } catch (e) {
    return { protocolError: String(e.message ?? e) };
  }
}

const out = {
  protocol: transport.protocolVersion ?? client.getNegotiatedProtocolVersion?.() ?? null,
  tools: tools.map((t) => ({ name: t.name, readOnly: t.annotations?.readOnlyHint })),
  read: await call("siem.get_alert", { alert_id: "ALR-2001" }, { rationale: "triage of ALR-2001" }),
  forbidden: await call("edr.isolate_host", { host: "dc01", incident: "INC-1042" }),
  unknown: await call("edr.wipe_host", { host: "ws-042" }),
};
console.log(JSON.stringify(out));
await client.close();
