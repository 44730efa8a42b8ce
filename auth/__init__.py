"""Password hashing and token handling; knows nothing of GraphQL or storage."""
