"""JSON-LD processing with bundled contexts only: canonical N-Quads and safe mode.

Every context comes from ``badges/contexts/`` (see its README); any other URL
raises, so signing and verifying never fetch anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pyld import jsonld as pyld_jsonld

JsonObject = dict[str, Any]

CONTEXTS_DIR = Path(__file__).parent / "contexts"


class ContextNotBundledError(LookupError):
    """Raised when a document refers to a context URL that is not bundled."""


class CanonicalizationError(ValueError):
    """Raised when a document cannot be turned into canonical N-Quads."""


class UnsafeDocumentError(ValueError):
    """Raised when a document has terms or IRIs JSON-LD safe mode would reject."""


@cache
def _bundled_texts() -> Mapping[str, str]:
    index = json.loads((CONTEXTS_DIR / "index.json").read_text(encoding="utf-8"))
    return {
        entry["url"]: (CONTEXTS_DIR / entry["file"]).read_text(encoding="utf-8")
        for entry in index
    }


def bundled_contexts() -> dict[str, JsonObject]:
    """Return fresh copies of the bundled context documents, keyed by URL."""
    return {url: json.loads(text) for url, text in _bundled_texts().items()}


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> JsonObject:
    """Serve a bundled context as a pyld remote document; raise for any other URL.

    The ``static`` tag lets pyld keep the processed context for the life of the
    process (bundled contexts never change), which halves canonicalisation time.
    """
    try:
        text = _bundled_texts()[url]
    except KeyError:
        raise ContextNotBundledError(
            f"JSON-LD context {url!r} is not bundled and will not be fetched"
        ) from None
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": json.loads(text),  # a fresh copy: pyld may rewrite it
        "tag": "static",
    }


def canonicalize(document: Mapping[str, Any]) -> str:
    """Return the RDFC-1.0 canonical N-Quads of a JSON-LD document.

    pyld calls RDFC-1.0 "URDNA2015" (same output); its default, URGNA2012,
    gives different blank node labels and signatures nobody else verifies.
    """
    return _normalize(dict(document))


def canonicalize_expanded(expanded: list[Any]) -> str:
    """Return the RDFC-1.0 canonical N-Quads of an already expanded document."""
    return _normalize(expanded)


def _normalize(document: JsonObject | list[Any]) -> str:
    try:
        nquads = pyld_jsonld.normalize(
            document,
            {
                "algorithm": "URDNA2015",
                "format": "application/n-quads",
                "base": None,
                "documentLoader": document_loader,
            },
        )
    except pyld_jsonld.JsonLdError as exc:
        raise CanonicalizationError(_describe(exc)) from exc
    assert isinstance(nquads, str)
    return nquads


def check_safe(document: Mapping[str, Any]) -> None:
    """Reject what jsonld.js "safe mode" rejects: dropped terms and relative IRIs.

    pyld signs documents with undefined terms silently (they just vanish from
    the canonical form); the npm verifiers refuse them, so we do too.

    :raises UnsafeDocumentError: naming the first problem found.
    """
    expand_safe(document)


def expand_safe(document: Mapping[str, Any]) -> list[Any]:
    """Expand a document in safe mode and return the expanded form.

    Feed the result to ``canonicalize_expanded`` to check and canonicalise with
    one expansion.

    :raises UnsafeDocumentError: naming the first problem found.
    """

    def refuse_dropped(term: str | None) -> None:
        raise UnsafeDocumentError(
            f"term {term!r} is not defined by the document's @context"
        )

    try:
        expanded = pyld_jsonld.expand(
            dict(document),
            {"base": None, "documentLoader": document_loader},
            on_property_dropped=refuse_dropped,
        )
    except pyld_jsonld.JsonLdError as exc:
        cause = _root_cause(exc)
        if isinstance(cause, UnsafeDocumentError):
            raise cause from None
        raise UnsafeDocumentError(_describe(exc)) from exc
    _reject_relative_iris(expanded)
    assert isinstance(expanded, list)
    return expanded


def _reject_relative_iris(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _reject_relative_iris(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "@id" and not _is_absolute(value):
            raise UnsafeDocumentError(f"relative @id {value!r}")
        if key == "@type" and "@value" not in node:
            for type_iri in value if isinstance(value, list) else [value]:
                if not _is_absolute(type_iri):
                    raise UnsafeDocumentError(
                        f"type {type_iri!r} is not defined by the document's @context"
                    )
        elif key == "@type" and not _is_absolute(value):
            raise UnsafeDocumentError(f"relative value @type {value!r}")
        _reject_relative_iris(value)


def _is_absolute(iri: Any) -> bool:
    return isinstance(iri, str) and (":" in iri or iri.startswith("_:"))


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        nxt = getattr(current, "cause", None) or current.__cause__
        if not isinstance(nxt, BaseException):
            break
        current = nxt
    return current


def _describe(exc: BaseException) -> str:
    cause = _root_cause(exc)
    if cause is not exc:
        return str(cause)
    message = exc.args[0] if exc.args else exc
    return str(message)
