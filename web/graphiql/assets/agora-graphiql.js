/*
 * Agora's GraphiQL start-up code (development only). It runs from its own file, served
 * by the app like the vendored GraphiQL, so the page's Content-Security-Policy needs no
 * inline script.
 *
 * - Queries go over HTTP to this page's own URL; subscriptions over WebSocket
 *   (graphql-transport-ws, the graphql-ws client bundled in graphiql.min.js) to the same
 *   URL with ws:/wss:. The Headers tab's JSON is sent as HTTP headers, and as the
 *   WebSocket's connection_init payload (where the API reads `Authorization`).
 * - Headers (the bearer token) stay in memory unless the developer opts in with
 *   "Persist headers" in GraphiQL's settings dialog; the choice is kept in localStorage
 *   and honoured on the next load. While not opted in, the storage given to GraphiQL
 *   keeps headers out of everything it writes, its query history included.
 */
(function () {
  "use strict";

  var PERSIST_HEADERS_KEY = "graphiql:shouldPersistHeaders";
  var DEFAULT_QUERY = [
    "# Agora's GraphQL API (development server)",
    "#",
    "# Sign in with the register or login mutation,",
    "# then put the access token in Headers below:",
    '#   {"Authorization": "Bearer <accessToken>"}',
    "# Headers stay in memory unless you turn on",
    '# "Persist headers" in the settings (gear icon).',
    "# Subscriptions run over WebSocket, same URL.",
    "",
    "{ viewer { id handle displayName } }",
    "",
  ].join("\n");

  function endpoint(protocol) {
    var url = new URL(window.location.href);
    url.search = "";
    url.hash = "";
    if (protocol) {
      url.protocol = protocol;
    }
    return url.toString();
  }

  function persistingHeaders() {
    return window.localStorage.getItem(PERSIST_HEADERS_KEY) === "true";
  }

  function withoutHeaders(item) {
    var copy = Object.assign({}, item);
    delete copy.headers;
    return copy;
  }

  // What GraphiQL stores that can hold headers, and the same without them (null: nothing).
  var SCRUBBERS = {
    "graphiql:headers": function () {
      return null;
    },
    "graphiql:tabState": function (stored) {
      stored.tabs = stored.tabs.map(function (tab) {
        return Object.assign({}, tab, { headers: null });
      });
      return stored;
    },
    "graphiql:queries": function (stored) {
      stored.queries = stored.queries.map(withoutHeaders);
      return stored;
    },
    "graphiql:favorites": function (stored) {
      stored.favorites = stored.favorites.map(withoutHeaders);
      return stored;
    },
  };

  function scrubbed(key, value) {
    try {
      var stored = SCRUBBERS[key](JSON.parse(value));
      return stored === null ? null : JSON.stringify(stored);
    } catch (error) {
      return null; // not GraphiQL's format: keep nothing that may hold a token
    }
  }

  function write(key, value) {
    if (value === null) {
      window.localStorage.removeItem(key);
    } else {
      window.localStorage.setItem(key, value);
    }
  }

  function scrubAll() {
    Object.keys(SCRUBBERS).forEach(function (key) {
      var value = window.localStorage.getItem(key);
      if (value !== null) {
        write(key, scrubbed(key, value));
      }
    });
  }

  // GraphiQL's `storage`: localStorage, but while the developer has not opted in, what
  // GraphiQL writes is stored without headers (GraphiQL itself would still keep them in
  // its query history, and a tab write racing the settings toggle). Its unscrubbed writes
  // are held in memory, and stored as they are once the developer opts in.
  var held = {};
  var storage = {
    getItem: function (key) {
      return window.localStorage.getItem(key);
    },
    setItem: function (key, value) {
      if (Object.prototype.hasOwnProperty.call(SCRUBBERS, key) && !persistingHeaders()) {
        held[key] = value;
        write(key, scrubbed(key, value));
        return;
      }
      window.localStorage.setItem(key, value);
      if (key === PERSIST_HEADERS_KEY) {
        if (value === "true") {
          Object.keys(held).forEach(function (heldKey) {
            window.localStorage.setItem(heldKey, held[heldKey]);
          });
        } else {
          scrubAll();
        }
        held = {};
      }
    },
    removeItem: function (key) {
      delete held[key];
      window.localStorage.removeItem(key);
    },
    clear: function () {
      held = {};
      Object.keys(window.localStorage).forEach(function (key) {
        if (key.indexOf("graphiql:") === 0) {
          window.localStorage.removeItem(key);
        }
      });
    },
    get length() {
      return Object.keys(window.localStorage).filter(function (key) {
        return key.indexOf("graphiql:") === 0;
      }).length;
    },
  };

  // Headers an earlier page kept (Strawberry's GraphiQL persisted them) go, unless kept
  // on purpose.
  if (!persistingHeaders()) {
    scrubAll();
  }

  var fetcher = GraphiQL.createFetcher({
    url: endpoint(),
    subscriptionUrl: endpoint(window.location.protocol === "https:" ? "wss:" : "ws:"),
  });

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      storage: storage,
      defaultQuery: DEFAULT_QUERY,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      // Off unless the developer turned it on in the settings dialog (kept there).
      shouldPersistHeaders: persistingHeaders(),
      showPersistHeadersSettings: true,
      inputValueDeprecation: true,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
    }),
  );
})();
