"""HTTP and WebSocket glue: the GraphQL view, middleware and health endpoints."""
