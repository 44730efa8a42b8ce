"""Storage back ends: relational (SQLAlchemy), documents (PyMongo async), events.

Nothing here knows about GraphQL.
"""
