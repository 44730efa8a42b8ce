"""MongoDB (or a MongoDB-wire-compatible server) through PyMongo's async API."""

from datasources.documents.embedded_server import EmbeddedDocumentServer
from datasources.documents.store import DocumentStore, open_document_store

__all__ = ["DocumentStore", "EmbeddedDocumentServer", "open_document_store"]
