// The GraphQL-over-HTTP conformance audit of `graphql-http` against a running server.
//
//   node audit.mjs http://127.0.0.1:8000/graphql
//
// Prints one JSON object on stdout:
//   {"url": ..., "counts": {"ok": n, "notice": n, "warn": n, "error": n},
//    "failures": [{"id", "name", "status", "reason", "request", "response"}, ...]}
// where `failures` lists every audit that did not pass (notices included: a failing
// MAY), each with the request sent and the response received (status, content-type,
// body). Exits 0 when there is no warning and no error, 1 otherwise, 2 on a fatal
// problem (bad arguments, server unreachable).

import { AsyncLocalStorage } from "node:async_hooks";

import { serverAudits } from "graphql-http";

function fatal(message) {
  process.stderr.write(`audit.mjs: ${message}\n`);
  process.exit(2);
}

const url = process.argv[2];
if (!url || !/^https?:\/\//.test(url)) {
  fatal("usage: node audit.mjs <http(s) URL of the GraphQL endpoint>");
}

// What each audit sent and received (by audit id), to explain failures.
const currentAudit = new AsyncLocalStorage();
const exchanges = new Map();

async function recordingFetch(input, init = {}) {
  const response = await fetch(input, init);
  let body;
  try {
    body = await response.clone().text();
  } catch (error) {
    body = `(unreadable body: ${error.message})`;
  }
  exchanges.get(currentAudit.getStore())?.push({
    request: {
      method: init.method ?? "GET",
      url: String(input),
      headers: init.headers ?? {},
      body: typeof init.body === "string" ? init.body : init.body == null ? null : "(binary)",
    },
    response: {
      status: response.status,
      contentType: response.headers.get("content-type"),
      body: body.length > 2000 ? `${body.slice(0, 2000)}…` : body,
    },
  });
  return response;
}

// What `auditServer` does, each audit in its own context so its requests are known.
let results;
try {
  results = await Promise.all(
    serverAudits({ url, fetchFn: recordingFetch }).map((audit) => {
      exchanges.set(audit.id, []);
      return currentAudit.run(audit.id, audit.fn);
    }),
  );
} catch (error) {
  fatal(`the audit could not run: ${error?.stack ?? error}`);
}

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
const failures = [];
for (const result of results) {
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  if (result.status !== "ok") {
    const [exchange] = exchanges.get(result.id) ?? [];
    failures.push({
      id: result.id,
      name: result.name,
      status: result.status,
      reason: result.reason,
      request: exchange?.request ?? null,
      response: exchange?.response ?? { status: result.response?.status ?? null },
    });
  }
}
const order = { error: 0, warn: 1, notice: 2 };
failures.sort((a, b) => order[a.status] - order[b.status] || a.id.localeCompare(b.id));

process.stdout.write(`${JSON.stringify({ url, total: results.length, counts, failures }, null, 2)}\n`);
process.exit(counts.warn > 0 || counts.error > 0 ? 1 : 0);
