// Apollo Client 4 with automatic persisted queries (PersistedQueryLink) against a server.
//
//   node apollo_persisted.mjs <url> <post|get> ['<json spec>']
//
// <url> is the GraphQL endpoint (http://127.0.0.1:8000/graphql). "get" sets
// `useGETForHashedQueries: true`: hash-only requests go as GET, full documents as POST.
// The optional spec is {"query": "...", "variables": {...}, "runs": 2}; by default a
// small query that needs no data. The query runs `runs` times (network-only, so each
// run reaches the server): the first run should be refused with
// PERSISTED_QUERY_NOT_FOUND and retried with the document; later runs are hash-only.
//
// Prints one JSON object on stdout:
//   {"mode", "url", "results": [{"data", "errors"}...], "requests": [{"run", "method",
//    "hasQuery", "hash", "status", "errorCodes"}...], "counts": {...}}
// Exits 0 when every run got data without errors, 1 otherwise (the JSON is printed
// either way, with "error" set), 2 on bad arguments.

import { createHash } from "node:crypto";

import { ApolloClient, ApolloLink, gql, HttpLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

function usage(message) {
  process.stderr.write(`apollo_persisted.mjs: ${message}\n`);
  process.stderr.write("usage: node apollo_persisted.mjs <url> <post|get> ['<json spec>']\n");
  process.exit(2);
}

const [url, mode, rawSpec] = process.argv.slice(2);
if (!url || !/^https?:\/\//.test(url)) usage("the first argument must be an http(s) URL");
if (mode !== "post" && mode !== "get") usage('the mode must be "post" or "get"');
let spec = {};
if (rawSpec) {
  try {
    spec = JSON.parse(rawSpec);
  } catch (error) {
    usage(`the spec is not JSON: ${error.message}`);
  }
}
const query = spec.query ?? "query PersistedProbe { __typename }";
const variables = spec.variables ?? {};
const runs = spec.runs ?? 2;

// Every HTTP request Apollo Client makes, as the server sees it.
const requests = [];
let currentRun = 0;

function describeRequest(input, init) {
  const method = (init.method ?? "GET").toUpperCase();
  const target = new URL(String(input));
  let parameters = {};
  if (method === "GET") {
    for (const [name, value] of target.searchParams) {
      parameters[name] = name === "variables" || name === "extensions" ? JSON.parse(value) : value;
    }
  } else if (typeof init.body === "string") {
    parameters = JSON.parse(init.body);
  }
  return {
    run: currentRun,
    method,
    hasQuery: typeof parameters.query === "string" && parameters.query.length > 0,
    hash: parameters.extensions?.persistedQuery?.sha256Hash ?? null,
    operationName: parameters.operationName ?? null,
    accept: new Headers(init.headers ?? {}).get("accept"),
    urlLength: target.toString().length,
  };
}

async function recordingFetch(input, init = {}) {
  const record = describeRequest(input, init);
  requests.push(record);
  const response = await fetch(input, init);
  record.status = response.status;
  record.contentType = response.headers.get("content-type");
  try {
    const body = JSON.parse(await response.clone().text());
    record.errorCodes = (body.errors ?? []).map((e) => e?.extensions?.code ?? e?.message ?? null);
    record.hasData = body.data != null;
  } catch {
    record.errorCodes = ["(response body is not JSON)"];
  }
  return response;
}

const link = ApolloLink.from([
  new PersistedQueryLink({
    sha256: (text) => createHash("sha256").update(text, "utf8").digest("hex"),
    useGETForHashedQueries: mode === "get",
  }),
  new HttpLink({ uri: url, fetch: recordingFetch }),
]);
const client = new ApolloClient({ link, cache: new InMemoryCache() });

const document = gql(query);
const results = [];
let failure = null;
try {
  for (currentRun = 1; currentRun <= runs; currentRun += 1) {
    const result = await client.query({ query: document, variables, fetchPolicy: "network-only" });
    results.push({ data: result.data ?? null, errors: result.error ? [String(result.error)] : null });
    if (result.error) throw result.error;
  }
} catch (error) {
  failure = {
    name: error?.name ?? null,
    message: error?.message ?? String(error),
    errors: error?.errors ?? null,
    statusCode: error?.statusCode ?? null,
    bodyText: error?.bodyText ?? null,
  };
}

const counts = {
  total: requests.length,
  withQuery: requests.filter((r) => r.hasQuery).length,
  hashOnly: requests.filter((r) => !r.hasQuery && r.hash).length,
  GET: requests.filter((r) => r.method === "GET").length,
  POST: requests.filter((r) => r.method === "POST").length,
};
const output = { mode, url, results, requests, counts, error: failure };
process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
process.exit(failure ? 1 : 0);
