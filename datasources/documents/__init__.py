"""MongoDB (or a MongoDB-wire-compatible server) through PyMongo's async API."""

from datasources.documents.client import DocumentStore, open_document_store
from datasources.documents.embedded_server import EmbeddedDocumentServer

__all__ = ["DocumentStore", "EmbeddedDocumentServer", "open_document_store"]
