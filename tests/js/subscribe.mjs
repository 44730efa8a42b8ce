// One GraphQL subscription over graphql-transport-ws with the npm `graphql-ws` client.
//
//   node subscribe.mjs '<json>'
//
// where <json> is {"url": "ws://127.0.0.1:8000/graphql", "query": "subscription ...",
// "variables": {...}, "token": "<access token>" | null, "count": 5 | null, "timeoutMs": 30000}.
//
// Prints every `next` payload ({"data": ...}) as one JSON line on stdout, as it arrives.
// Exits 0 once `count` payloads have arrived (count null: when stdin closes or on SIGTERM),
// 1 on a subscription or connection error or a payload with errors, 2 on timeout,
// 3 if the server completes the subscription early. Diagnostics go to stderr.

import { createClient } from "graphql-ws";
import WebSocket from "ws";

function fail(code, message) {
  process.stderr.write(`subscribe.mjs: ${message}\n`);
  process.exit(code);
}

let spec;
try {
  spec = JSON.parse(process.argv[2] ?? "");
} catch (error) {
  fail(1, `usage: node subscribe.mjs '<json spec>' (${error.message})`);
}
const { url, query, variables = {}, token = null, count = null, timeoutMs = 30000 } = spec;
if (typeof url !== "string" || typeof query !== "string") {
  fail(1, "the spec needs `url` and `query` strings");
}

let received = 0;
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  lazy: true,
  retryAttempts: 0, // a dropped connection is an error here, never silently re-established
  on: {
    connected: () => process.stderr.write("subscribe.mjs: connected\n"),
    closed: (event) =>
      process.stderr.write(`subscribe.mjs: closed ${event?.code ?? ""} ${event?.reason ?? ""}\n`),
  },
});

async function finish(code, message) {
  clearTimeout(timer);
  if (message) process.stderr.write(`subscribe.mjs: ${message}\n`);
  try {
    await client.dispose();
  } finally {
    process.exit(code);
  }
}

const timer = setTimeout(
  () => fail(2, `timed out after ${timeoutMs} ms with ${received} of ${count ?? "?"} events`),
  timeoutMs,
);

if (count === null) {
  // Unbounded: the caller ends the subscription by closing stdin or with SIGTERM.
  process.stdin.on("end", () => finish(0, "stdin closed"));
  process.stdin.resume();
  process.on("SIGTERM", () => finish(0, "SIGTERM"));
}

function describe(error) {
  if (Array.isArray(error)) return JSON.stringify(error); // GraphQL errors
  if (error && typeof error === "object" && "code" in error && "reason" in error) {
    return `connection closed: ${error.code} ${error.reason}`; // a CloseEvent
  }
  return String(error?.stack ?? error);
}

try {
  for await (const payload of client.iterate({ query, variables })) {
    process.stdout.write(`${JSON.stringify(payload)}\n`);
    if (payload.errors) {
      await finish(1, `payload with errors: ${JSON.stringify(payload.errors)}`);
    }
    received += 1;
    if (count !== null && received >= count) {
      await finish(0, `received ${received} events`);
    }
  }
  await finish(3, `the server completed the subscription after ${received} events`);
} catch (error) {
  await finish(1, `subscription failed: ${describe(error)}`);
}
