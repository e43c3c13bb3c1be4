"""JSON-LD processing with bundled contexts only: canonical N-Quads and safe mode.

Every context comes from ``badges/contexts/`` (see its README); any other URL
raises, so signing and verifying never fetch anything.

pyld's expansion and RDF conversion cost milliseconds per credential, yet the
documents we sign and verify come in a handful of *shapes*. A shape cache
(see ``_fast_canonical``) runs pyld once per shape and later only substitutes
string values into the cached RDF and labels blank nodes (RDFC-1.0); whenever
a value could change the structure, it falls back to plain pyld.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pyld import jsonld as pyld_jsonld
from pyld.canon import URDNA2015
from pyld.nquads import escape as nquads_escape

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
    fast = _fast_canonical(document)
    if fast is not None:
        return fast
    return _normalize(dict(document))


def canonicalize_safe(document: Mapping[str, Any]) -> str:
    """Check a document in safe mode and return its RDFC-1.0 canonical N-Quads.

    Same result as ``canonicalize_expanded(expand_safe(document))``, usually
    without running pyld (see the module docstring).

    :raises UnsafeDocumentError: naming the first problem found.
    :raises CanonicalizationError: if the document cannot be canonicalised.
    """
    fast = _fast_canonical(document)
    if fast is not None:
        return fast
    return canonicalize_expanded(expand_safe(document))


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
    if _fast_canonical(document) is None:
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
        if key == "@id" and _ILLEGAL_IN_IRI.search(value):
            # pyld would silently drop every quad naming it: refuse instead.
            raise UnsafeDocumentError(
                f"@id {value!r} holds a space or a character IRIs may not contain"
            )
        if key == "@type" and "@value" not in node:
            for type_iri in value if isinstance(value, list) else [value]:
                if not _is_absolute(type_iri):
                    raise UnsafeDocumentError(
                        f"type {type_iri!r} is not defined by the document's @context"
                    )
        elif key == "@type" and not _is_absolute(value):
            raise UnsafeDocumentError(f"relative value @type {value!r}")
        _reject_relative_iris(value)


_ILLEGAL_IN_IRI = re.compile(r'[\x00-\x20<>"{}|\\^`]')


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


# --- Shape cache ------------------------------------------------------------
#
# A document's *shape* is everything except the "neutral" string leaves: keys,
# nesting, list lengths, non-string leaves, @context, type values, keyword
# values, and every string whose expansion depends on its content (a term, a
# compact IRI whose prefix is a term, anything starting with "@"). The first
# document of a shape is run through pyld with each neutral string replaced by
# a unique token that looks like an absolute IRI with an unknown scheme, so it
# passes through expansion unchanged whether the context makes it a literal,
# an @id or an @vocab IRI. Where each token lands in the RDF dataset becomes a
# slot of the cached template. Later documents of the shape fill the slots
# (IRI slots only take values that pyld would keep verbatim as absolute IRIs)
# and get blank node labels from RDFC-1.0. Anything unexpected → plain pyld.

_SHAPE_CACHE_SIZE = 256
_TOKEN_SCHEME = "tpslot" + secrets.token_hex(8)  # no context defines this prefix

# Markers in the flat shape key (strings and wrapped scalars are the data).
_DICT, _LIST, _END, _SLOT, _NULL, _TRUE, _FALSE = range(7)

_IRI_SLOT = 1
_LITERAL_SLOT = 2

# What an IRI slot accepts: a scheme, then no whitespace (pyld would drop the
# quad as a relative IRI) and none of the characters RFC 3987 and N-Quads
# forbid in IRIs (pyld would copy them into the output verbatim).
_SAFE_ABSOLUTE_IRI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f]*"
)

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_RDF_JSON = "http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON"


class _Unsupported(Exception):
    """The fast path cannot vouch for this document; use pyld."""


@dataclass(frozen=True)
class _ContextFacts:
    """What the bundled contexts define, for deciding which strings are neutral."""

    urls: frozenset[str]
    terms: frozenset[str]
    frozen_keys: frozenset[str]  # keywords and keyword aliases other than @id


@cache
def _context_facts() -> _ContextFacts:
    terms: set[str] = set()
    aliases: set[str] = set()

    def collect(context: Any) -> None:
        if isinstance(context, list):
            for item in context:
                collect(item)
            return
        if not isinstance(context, dict):
            return
        for term, definition in context.items():
            terms.add(term)
            target = (
                definition.get("@id") if isinstance(definition, dict) else definition
            )
            if isinstance(target, str) and target.startswith("@") and target != "@id":
                aliases.add(term)
            if isinstance(definition, dict) and "@context" in definition:
                collect(definition["@context"])

    for document in bundled_contexts().values():
        collect(document.get("@context"))
    return _ContextFacts(
        urls=frozenset(_bundled_texts()),
        terms=frozenset(terms),
        frozen_keys=frozenset(aliases | {"@type"}),
    )


def _is_neutral(value: str, terms: frozenset[str]) -> bool:
    """Tell whether pyld treats ``value`` the same as any token in its place.

    Mirrors ``_expand_iri``: keywords and keyword-like strings, terms, and
    compact IRIs with a term as prefix (unless the suffix starts with //)
    expand differently, so they become part of the shape.
    """
    if not value or value[0] == "@" or value in terms:
        return False
    colon = value.find(":")
    return colon <= 0 or value[:colon] not in terms or value.startswith("//", colon + 1)


def _shape_of(
    document: Mapping[str, Any], facts: _ContextFacts, *, tokenise: bool = False
) -> tuple[list[Hashable], list[str], JsonObject | None]:
    """Walk a document as pyld will see it: ``dict(document)``, nested plain JSON.

    Return its flat shape key, its neutral strings in document order and, with
    ``tokenise``, a copy with each neutral string replaced by its token.

    :raises _Unsupported: for non-JSON values, or contexts that are not bundled.
    """
    key: list[Hashable] = []
    values: list[str] = []
    terms = facts.terms
    frozen_keys = facts.frozen_keys

    def walk(node: Any, frozen: bool) -> Any:
        kind = type(node)
        if kind is str:
            if frozen or not _is_neutral(node, terms):
                if tokenise and _TOKEN_SCHEME in node:
                    raise _Unsupported
                key.append(node)
                return node
            key.append(_SLOT)
            values.append(node)
            return f"{_TOKEN_SCHEME}:{len(values) - 1}" if tokenise else None
        if kind is dict:
            return walk_object(node, frozen)
        if kind is list:
            key.append(_LIST)
            items = [walk(item, frozen) for item in node]
            key.append(_END)
            return items if tokenise else None
        if node is None:
            key.append(_NULL)
        elif node is True:
            key.append(_TRUE)
        elif node is False:
            key.append(_FALSE)
        elif kind is int or kind is float:
            key.append((kind.__name__, node))
        else:
            raise _Unsupported  # pyld would str() it or fail
        return node

    def walk_object(node: Mapping[str, Any], frozen: bool) -> JsonObject | None:
        key.append(_DICT)
        copy: JsonObject = {}
        for name, value in node.items():
            if type(name) is not str or (tokenise and _TOKEN_SCHEME in name):
                raise _Unsupported
            key.append(name)
            if name == "@context":
                _check_contexts(value, facts)
            copy[name] = walk(
                value,
                frozen
                or name == "@context"
                or name in frozen_keys
                or (name[:1] == "@" and name != "@id"),
            )
        key.append(_END)
        return copy if tokenise else None

    tokenised = walk_object(document, False)
    return key, values, tokenised


def _check_contexts(value: Any, facts: _ContextFacts) -> None:
    """Only bundled context URLs: their terms are the ones ``_is_neutral`` knows."""
    urls = value if type(value) is list else [value]
    for url in urls:
        if type(url) is not str or url not in facts.urls:
            raise _Unsupported


# A template quad: subject, predicate, object. Subjects and objects are
# (kind, data): kind _CONST → data is the serialised term; _BNODE → a blank node
# label; _IRI_SLOT / _LITERAL_SLOT → data is the slot index (a literal slot
# also carries its serialised datatype/language suffix).
_CONST = 0
_BNODE = 3
_Term = tuple[int, Any, str]
_Quad = tuple[_Term, str, _Term]


@dataclass(frozen=True)
class _Template:
    """The RDF dataset of one shape, with slots for the neutral strings."""

    slot_kinds: tuple[int, ...]
    quads: tuple[_Quad, ...]
    # For each blank node, the indices of the quads mentioning it, once per
    # mention (as pyld's URDNA2015 does).
    bnode_quads: tuple[tuple[str, tuple[int, ...]], ...]
    # The dataset in pyld's form, for pyld's URDNA2015 when blank nodes tie.
    triples: tuple[Mapping[str, Any], ...]


_UNSUPPORTED_SHAPE = object()
_shapes: OrderedDict[tuple[Hashable, ...], object] = OrderedDict()
_shapes_lock = threading.Lock()


def _fast_canonical(document: Mapping[str, Any]) -> str | None:
    """Return the canonical N-Quads of a safe document, or None to use pyld.

    A string means pyld would return the same string from
    ``canonicalize_expanded(expand_safe(document))`` without raising.
    """
    try:
        facts = _context_facts()
        shape, values, _ = _shape_of(document, facts)
        key = tuple(shape)
        with _shapes_lock:
            template = _shapes.get(key)
            if template is not None:
                _shapes.move_to_end(key)
        if template is None:
            template = _build_template(document, facts)
            with _shapes_lock:
                _shapes[key] = template
                while len(_shapes) > _SHAPE_CACHE_SIZE:
                    _shapes.popitem(last=False)
        if not isinstance(template, _Template):
            return None
        return _fill(template, values)
    except (_Unsupported, RecursionError, UnicodeError):
        return None


def _build_template(document: Mapping[str, Any], facts: _ContextFacts) -> object:
    """Run pyld once on the tokenised document; return its template or a refusal."""
    try:
        _, values, tokenised = _shape_of(document, facts, tokenise=True)
        expanded = expand_safe(tokenised if tokenised is not None else {})
        dataset = pyld_jsonld.JsonLdProcessor().to_rdf(
            expanded,
            {
                "base": None,
                "documentLoader": document_loader,
                "produceGeneralizedRdf": False,
            },
        )
        return _template_of(dataset, len(values))
    except Exception:  # noqa: BLE001 - any doubt: pyld's own path decides and reports
        return _UNSUPPORTED_SHAPE


def _template_of(dataset: Mapping[str, Any], slots: int) -> _Template:
    if set(dataset) - {"@default"}:
        raise _Unsupported  # named graphs
    token_prefix = _TOKEN_SCHEME + ":"
    kinds = [0] * slots

    def slot_of(text: str) -> int | None:
        if _TOKEN_SCHEME not in text:
            return None
        index = text[len(token_prefix) :]
        if not text.startswith(token_prefix) or not index.isdigit():
            raise _Unsupported  # a token mangled by expansion
        number = int(index)
        if number >= slots or str(number) != index:
            raise _Unsupported
        return number

    def term(component: Mapping[str, Any]) -> _Term:
        value = component["value"]
        if component["type"] == "blank node":
            if _TOKEN_SCHEME in value:
                raise _Unsupported
            return (_BNODE, value, "")
        if component["type"] == "IRI":
            number = slot_of(value)
            if number is None:
                return (_CONST, f"<{value}>", "")
            kinds[number] |= _IRI_SLOT
            return (_IRI_SLOT, number, "")
        datatype = component.get("datatype")
        language = component.get("language")
        if datatype == _RDF_LANGSTRING:
            suffix = f"@{language}" if language else ""
        elif datatype != _XSD_STRING:
            suffix = f"^^<{datatype}>"
        else:
            suffix = ""
        if _TOKEN_SCHEME in suffix:
            raise _Unsupported
        number = slot_of(value)
        if number is None:
            return (_CONST, f'"{nquads_escape(value)}"{suffix}', "")
        if datatype in (_XSD_DOUBLE, _RDF_JSON):
            raise _Unsupported  # pyld rewrites these lexical forms
        kinds[number] |= _LITERAL_SLOT
        return (_LITERAL_SLOT, number, suffix)

    quads: list[_Quad] = []
    bnode_quads: dict[str, list[int]] = {}
    triples = dataset.get("@default", [])
    for triple in triples:
        predicate = triple["predicate"]
        if predicate["type"] != "IRI" or _TOKEN_SCHEME in predicate["value"]:
            raise _Unsupported
        subject, obj = term(triple["subject"]), term(triple["object"])
        if subject[0] == _LITERAL_SLOT or (
            subject[0] == _CONST and not subject[1].startswith("<")
        ):
            raise _Unsupported  # a literal subject: not RDF pyld emits
        for part in (subject, obj):
            if part[0] == _BNODE:
                bnode_quads.setdefault(part[1], []).append(len(quads))
        quads.append((subject, f"<{predicate['value']}>", obj))
    if not all(kinds) or any(kind == _IRI_SLOT | _LITERAL_SLOT for kind in kinds):
        raise _Unsupported  # a value pyld dropped, or used both ways
    return _Template(
        slot_kinds=tuple(kinds),
        quads=tuple(quads),
        bnode_quads=tuple(
            (label, tuple(indices)) for label, indices in bnode_quads.items()
        ),
        triples=tuple(triples),
    )


def _fill(template: _Template, values: list[str]) -> str | None:
    rendered: list[str] = []
    for value, kind in zip(values, template.slot_kinds, strict=True):
        if kind == _IRI_SLOT:
            if _SAFE_ABSOLUTE_IRI.fullmatch(value) is None:
                return None
            rendered.append(f"<{value}>")
        else:
            rendered.append(f'"{nquads_escape(value)}"')

    # Each quad as (subject text, predicate, object text, subject bnode, object bnode).
    lines = [
        (
            _text(subject, rendered),
            predicate,
            _text(obj, rendered),
            subject[1] if subject[0] == _BNODE else None,
            obj[1] if obj[0] == _BNODE else None,
        )
        for subject, predicate, obj in template.quads
    ]
    if len({line[:3] for line in lines}) != len(lines):
        return None  # pyld would have merged nodes: let it

    hashes: dict[str, str] = {}
    for label, indices in template.bnode_quads:
        first_degree = []
        for index in indices:
            s, p, o, s_bnode, o_bnode = lines[index]
            if s_bnode is not None:
                s = "_:a" if s_bnode == label else "_:z"
            if o_bnode is not None:
                o = "_:a" if o_bnode == label else "_:z"
            first_degree.append(f"{s} {p} {o} .\n")
        first_degree.sort()
        hashes[label] = hashlib.sha256(
            "".join(first_degree).encode("utf-8")
        ).hexdigest()
    if len(set(hashes.values())) != len(hashes):
        return _pyld_urdna2015(template, values)

    canonical = {
        label: f"_:c14n{number}"
        for number, label in enumerate(sorted(hashes, key=hashes.__getitem__))
    }
    output = [
        f"{s if s_bnode is None else canonical[s_bnode]} {p} "
        f"{o if o_bnode is None else canonical[o_bnode]} .\n"
        for s, p, o, s_bnode, o_bnode in lines
    ]
    output.sort()
    return "".join(output)


def _text(term: _Term, rendered: list[str]) -> str:
    kind, data, suffix = term
    if kind in (_CONST, _BNODE):
        return str(data)
    return rendered[data] + suffix


def _pyld_urdna2015(template: _Template, values: list[str]) -> str:
    """Label blank nodes with pyld's URDNA2015 (ties need its N-degree hashing)."""

    def fill(component: Mapping[str, Any]) -> dict[str, Any]:
        copy = dict(component)
        value = copy["value"]
        if copy["type"] != "blank node" and value.startswith(_TOKEN_SCHEME + ":"):
            copy["value"] = values[int(value[len(_TOKEN_SCHEME) + 1 :])]
        return copy

    triples = [
        {key: fill(component) for key, component in triple.items()}
        for triple in template.triples
    ]
    nquads = URDNA2015().main({"@default": triples}, {"format": "application/n-quads"})
    assert isinstance(nquads, str)
    return nquads
