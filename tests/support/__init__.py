"""Helpers the test modules share; the fixtures are in tests/conftest.py.

- servers: PostgreSQL, Redis and SecantusDB started from the machine's binaries.
- apps: Agora served by uvicorn in the test's event loop, on either backend.
- cluster: two `uvicorn app:app` processes sharing the real servers.
- node: Node.js and the scripts of tests/js.
- graphql: posting GraphQL over HTTP and reading the answer.
- accounts, posts, comments, follows, reactions, notifications: the API's documents, and
  helpers that register users and create, delete and list what they write.
- ids: Relay global IDs, and the node / nodes queries.
- subscribers, live_events: recording subscription events, and checking them.
- time_travel: waiting periods that pass at once.
"""
