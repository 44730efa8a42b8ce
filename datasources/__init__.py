"""Storage back ends: relational (SQLAlchemy), documents (PyMongo async), events and rate
limits (Redis or in-process), and the failures they share.

Nothing here knows about GraphQL.
"""
