"""Persisted documents: automatic persisted queries (Apollo's protocol) and, for
production, trusted documents (an allow-list manifest).

A request may carry `extensions.persistedQuery = {"version": 1, "sha256Hash": …}`
(or a `documentId`) instead of, or besides, its document text:

- hash only, known: the stored document runs;
- hash only, unknown: PERSISTED_QUERY_NOT_FOUND, and the client sends it again with
  the text (Apollo Client's PersistedQueryLink does this by itself);
- hash and text: the hash must be the text's SHA-256, then the text is remembered.

With trusted documents only, nothing is remembered from requests: a document runs
only when it is in the manifest (a JSON object of hash → document, the
`persisted-documents.json` that GraphQL Codegen's client preset writes).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse

# The automatic store keeps at most this much document text in all.
MAX_STORED_CHARACTERS = 32_000_000


def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Refusal:
    message: str
    code: str
    status: int  # for application/graphql-response+json


NOT_FOUND = Refusal("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND", 200)


def load_manifest(path: Path) -> dict[str, str]:
    """A manifest: {"<sha256 hex>": "<document>"}; every hash must match its document."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a trusted-documents manifest is a JSON object")
    for key, document in data.items():
        if not isinstance(document, str) or document_hash(document) != key.removeprefix("sha256:"):
            raise ValueError(f"{path}: the entry {key!r} is not the SHA-256 of its document")
    return {key.removeprefix("sha256:"): document for key, document in data.items()}


def operation_names(manifest: dict[str, str]) -> set[str]:
    """The names of the operations a manifest's documents define (a document that does
    not parse has none: it is refused when sent)."""
    names = set()
    for document in manifest.values():
        try:
            parsed = parse(document)
        except GraphQLError:
            continue
        for definition in parsed.definitions:
            if isinstance(definition, OperationDefinitionNode) and definition.name:
                names.add(definition.name.value)
    return names


class PersistedDocuments:
    def __init__(
        self, *, max_entries: int, manifest: dict[str, str] | None, trusted_only: bool
    ) -> None:
        self.max_entries = max_entries
        self.manifest = manifest or {}
        self.trusted_only = trusted_only
        self._stored: OrderedDict[str, str] = OrderedDict()
        self._characters = 0

    def resolve(
        self, query: str | None, extensions: dict[str, Any] | None, document_id: Any
    ) -> str | Refusal:
        """The document text to run, or why the request is refused."""
        wanted = self._wanted_hash(extensions, document_id)
        if isinstance(wanted, Refusal):
            return wanted
        if query is None:
            if wanted is None:
                return Refusal("no GraphQL document in the request", "BAD_REQUEST", 400)
            known = self.manifest.get(wanted) or self._recall(wanted)
            if known is not None:
                return known
            return NOT_FOUND
        if wanted is not None and document_hash(query) != wanted:
            return Refusal("provided sha256Hash does not match the document", "BAD_REQUEST", 400)
        if self.trusted_only:
            if (wanted or document_hash(query)) not in self.manifest:
                return Refusal(
                    "only trusted documents are accepted by this server", "FORBIDDEN", 403
                )
        elif wanted is not None:
            self._remember(wanted, query)
        return query

    @staticmethod
    def _wanted_hash(extensions: dict[str, Any] | None, document_id: Any) -> str | Refusal | None:
        if document_id is not None:
            if not isinstance(document_id, str) or not document_id:
                return Refusal("documentId must be a string", "BAD_REQUEST", 400)
            return document_id.removeprefix("sha256:")
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            return None
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            return Refusal("unsupported persistedQuery version", "BAD_REQUEST", 400)
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or len(digest) != 64:
            return Refusal(
                "persistedQuery.sha256Hash must be a SHA-256 hex digest", "BAD_REQUEST", 400
            )
        return digest.lower()

    def _recall(self, digest: str) -> str | None:
        if self.trusted_only:
            return None
        document = self._stored.get(digest)
        if document is not None:
            self._stored.move_to_end(digest)
        return document

    def _remember(self, digest: str, document: str) -> None:
        if self.max_entries <= 0 or digest in self._stored:
            return
        self._stored[digest] = document
        self._characters += len(document)
        while len(self._stored) > self.max_entries or self._characters > MAX_STORED_CHARACTERS:
            _, evicted = self._stored.popitem(last=False)
            self._characters -= len(evicted)

    def __len__(self) -> int:
        return len(self._stored)


def add_to_manifest(manifest_path: Path, sources: list[Path]) -> list[tuple[str, Path]]:
    """Adds documents to a manifest file (created when missing); returns each added
    document's hash and source. A source is a .graphql file (one document) or a
    manifest of its own (JSON)."""
    manifest = load_manifest(manifest_path) if manifest_path.exists() else {}
    added: list[tuple[str, Path]] = []
    for source in sources:
        if source.suffix == ".json":
            documents = list(load_manifest(source).values())
        else:
            documents = [source.read_text(encoding="utf-8")]
        for document in documents:
            digest = document_hash(document)
            manifest[digest] = document
            added.append((digest, source))
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return added
