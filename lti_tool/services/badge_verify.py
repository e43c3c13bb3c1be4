"""Verify an Open Badge someone hands us and say what was checked, in plain words.

The input is whatever a promotion panel has: the credential's JSON, a baked
PNG or SVG image, or the credential's URL. The kind is told by the content,
never by a file name. Open Badges 3.0 credentials with an embedded
``eddsa-rdfc-2022`` proof are checked by :func:`badges.verification.verify_credential`
(OB 3.0 "Verification and Validation"); its findings are sorted into six
checks (format, signature, issuer, dates, revocation, recipient).

Documents the verifier needs (the issuer's did:web document, the revocation
status list, a credential named by URL) come through a :class:`Lookup`:
:class:`LocalLookup` answers for this deployment from the database,
:class:`RemoteLookup` fetches other issuers' documents through the SSRF guard.

Open Badges 2.0 signed assertions (compact JWS) are handed to
``badges.ob2.verify_signed_assertion`` when that module is installed.
"""

from __future__ import annotations

import enum
import importlib
import json
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from sqlalchemy import orm

from badges.baking import PNG_SIGNATURE, BakingError, unbake_png, unbake_svg
from badges.credentials import recipient_matches
from badges.keys import DidWebError, did_web_to_url, resolver_for
from badges.multibase import MultibaseError, decode_base64url
from badges.verification import CredentialCheck, verify_credential
from lti_tool.db.models import BadgeCredential
from lti_tool.keys import KeyEncryptor
from lti_tool.netguard import FetchError, GuardedSession, UnsafeDestination
from lti_tool.services.badges import Issuer, status_list_credential

JsonObject = dict[str, Any]

MAX_IMAGE_BYTES = 5 * 1024 * 1024  # a baked PNG or SVG
MAX_JSON_BYTES = 1024 * 1024  # JSON or JWS text, and every fetched document
MAX_JSON_DEPTH = 40  # an OB 3.0 credential nests about 6 deep
# Bitstring Status List v1.0 asks for >= 16 KiB; refuse lists that inflate past
# this (a gzip bomb in a foreign status list would otherwise fill the memory).
MAX_STATUS_LIST_BYTES = 2 * 1024 * 1024
MAX_DID_DOCUMENT_BYTES = 256 * 1024

CheckName = Literal["format", "signature", "issuer", "dates", "revocation", "recipient"]
CHECK_NAMES: tuple[CheckName, ...] = (
    "format",
    "signature",
    "issuer",
    "dates",
    "revocation",
    "recipient",
)
CHECK_TITLES: Mapping[CheckName, str] = {
    "format": "Format",
    "signature": "Signature",
    "issuer": "Issuer",
    "dates": "Validity dates",
    "revocation": "Revocation",
    "recipient": "Recipient",
}

_OB3_CONTEXT_PREFIX = "https://purl.imsglobal.org/spec/ob/v3p0/context"
_VCDM2 = "https://www.w3.org/ns/credentials/v2"
_VCDM1 = "https://www.w3.org/2018/credentials/v1"
_OB2_CONTEXT = "https://w3id.org/openbadges/v2"
_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


class UnreadableBadgeError(ValueError):
    """Raised when the input is not a badge at all; the message says why, plainly."""


class LookupFailure(Exception):
    """Raised by a Lookup when a document exists elsewhere but cannot be had."""


class Outcome(enum.StrEnum):
    """How one check came out."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not_checked"


class Verdict(enum.StrEnum):
    """The overall answer: verified, not verified, or not fully checkable."""

    VERIFIED = "verified"
    NOT_VERIFIED = "not_verified"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class Check:
    """One check: its name, outcome, a plain-English sentence and the raw findings."""

    name: CheckName
    outcome: Outcome
    text: str
    details: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return CHECK_TITLES[self.name]


@dataclass(frozen=True)
class Report:
    """What was checked and what the badge claims (for display)."""

    checks: tuple[Check, ...]
    verdict: Verdict
    source: str  # where it was read from: "a baked PNG image", "pasted text"...
    achievement_name: str | None = None
    achievement_description: str | None = None
    issuer_name: str | None = None
    issuer_id: str | None = None
    image: str | None = None
    credential_id: str | None = None

    @property
    def verified(self) -> bool:
        return self.verdict is Verdict.VERIFIED

    def check(self, name: CheckName) -> Check:
        """Return the check called ``name``."""
        return next(check for check in self.checks if check.name == name)

    @property
    def summary(self) -> str:
        """One sentence for the top of the page."""
        if self.verdict is Verdict.VERIFIED:
            if self.check("revocation").outcome is Outcome.PASSED:
                return "Verified: this badge is genuine, unchanged, current and not revoked."
            return (
                "Verified: this badge is genuine, unchanged and current"
                " (its issuer offers no revocation check)."
            )
        if self.verdict is Verdict.NOT_VERIFIED:
            failed = [
                c.title.lower() for c in self.checks if c.outcome is Outcome.FAILED
            ]
            return f"Not verified: the {_join(failed)} check{'s' if len(failed) > 1 else ''} failed."
        return "Not verified: some checks could not be done, so this badge cannot be confirmed."


@dataclass(frozen=True)
class RevocationNote:
    """What the issuer recorded when it revoked a credential (ours only)."""

    revoked_at: datetime
    reason: str | None


class Lookup(Protocol):
    """Where the verifier gets the documents a credential refers to.

    Each method returns the JSON document, or None when the name is not one
    this lookup answers for; it raises :class:`LookupFailure` (with a reason
    a person can read) when it should know the document but cannot get it.
    """

    def did_document(self, did: str) -> JsonObject | None:
        """The DID document of ``did`` (did:web)."""
        ...

    def status_list(self, url: str) -> JsonObject | None:
        """The BitstringStatusListCredential at ``url``."""
        ...

    def credential(self, url: str) -> JsonObject | None:
        """The JSON document at ``url``: a credential (or an OB 2.0 hosted document)."""
        ...

    def revocation_note(self, credential_id: str) -> RevocationNote | None:
        """When and why the issuer revoked ``credential_id``, if it says."""
        ...


# --- lookups -----------------------------------------------------------------------


class LocalLookup:
    """This deployment's own DID document, status lists and credentials, from the DB."""

    def __init__(
        self,
        session: orm.Session,
        encryptor: KeyEncryptor,
        issuer: Issuer,
        now: datetime,
    ) -> None:
        self._session = session
        self._encryptor = encryptor
        self._issuer = issuer
        self._now = now

    def _own_path(self, url: str) -> str | None:
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        if origin != self._issuer.origin.lower() or parts.query or parts.fragment:
            return None
        return parts.path

    def did_document(self, did: str) -> JsonObject | None:
        from lti_tool.services.badge_keys import badge_did_document

        if did != self._issuer.did:
            return None
        return badge_did_document(self._session, did)

    def status_list(self, url: str) -> JsonObject | None:
        path = self._own_path(url)
        if path is None or not path.startswith("/status/"):
            return None
        number = path.removeprefix("/status/")
        document = (
            status_list_credential(
                self._session, self._encryptor, self._issuer, int(number), self._now
            )
            if number.isascii() and number.isdigit() and len(number) < 10
            else None
        )
        if document is None:
            raise LookupFailure(f"there is no status list {url} on this site")
        return document

    def _own_credential(self, url: str) -> BadgeCredential | None:
        path = self._own_path(url)
        if path is None or not path.startswith("/credentials/"):
            return None
        credential_id = path.removeprefix("/credentials/").removesuffix(
            "/credential.json"
        )
        found = (
            self._session.get(BadgeCredential, credential_id)
            if 0 < len(credential_id) <= 36 and "/" not in credential_id
            else None
        )
        if found is None:
            raise LookupFailure(f"there is no credential {url} on this site")
        return found

    def credential(self, url: str) -> JsonObject | None:
        found = self._own_credential(url)
        return None if found is None else dict(found.document)

    def revocation_note(self, credential_id: str) -> RevocationNote | None:
        try:
            found = self._own_credential(credential_id)
        except LookupFailure:
            return None
        if found is None or found.revoked_at is None:
            return None
        return RevocationNote(found.revoked_at, found.revoked_reason)


class RemoteLookup:
    """Other issuers' documents over https, through the SSRF guard (netguard).

    No private or loopback addresses, no redirects, timeouts and a size cap.
    """

    def __init__(self, http: GuardedSession) -> None:
        self._http = http

    def _json(self, url: str, accept: str, max_bytes: int) -> JsonObject:
        try:
            fetched = self._http.fetch(
                "GET", url, max_bytes=max_bytes, headers={"Accept": accept}
            )
        except (UnsafeDestination, FetchError) as exc:
            raise LookupFailure(str(exc)) from exc
        host = urlsplit(url).hostname
        if 300 <= fetched.status < 400:
            raise LookupFailure(
                f"{host} answered with a redirect (HTTP {fetched.status}),"
                " which tierpath does not follow"
            )
        if fetched.status != 200:
            raise LookupFailure(f"{host} answered HTTP {fetched.status}")
        try:
            document = _load_json(fetched.body.decode("utf-8-sig"))
        except (UnicodeDecodeError, UnreadableBadgeError) as exc:
            raise LookupFailure(f"{host} did not answer with a JSON object") from exc
        return document

    def did_document(self, did: str) -> JsonObject | None:
        if not did.startswith("did:web:"):
            return None
        try:
            url = did_web_to_url(did)
        except DidWebError as exc:
            raise LookupFailure(str(exc)) from exc
        document = self._json(
            url, "application/did+json, application/json", MAX_DID_DOCUMENT_BYTES
        )
        if document.get("id") != did:
            raise LookupFailure(f"the DID document at {url} is not the one of {did}")
        return document

    def status_list(self, url: str) -> JsonObject | None:
        return self._json(
            url,
            "application/vc+ld+json, application/ld+json, application/json",
            MAX_JSON_BYTES,
        )

    def credential(self, url: str) -> JsonObject | None:
        return self._json(
            url,
            "application/vc+ld+json, application/ld+json, application/json",
            MAX_JSON_BYTES,
        )

    def revocation_note(self, credential_id: str) -> RevocationNote | None:
        return None  # a Bitstring Status List carries no reasons


class ChainedLookup:
    """Ask this deployment first, then (when switched on) the issuer's web site."""

    def __init__(self, local: Lookup, remote: Lookup | None) -> None:
        self._local = local
        self._remote = remote

    def _remote_or_refuse(self, what: str) -> Lookup:
        if self._remote is None:
            raise LookupFailure(
                f"{what} is not on this site, and fetching from other sites is"
                " switched off"
            )
        return self._remote

    def did_document(self, did: str) -> JsonObject | None:
        found = self._local.did_document(did)
        if found is not None:
            return found
        return self._remote_or_refuse(did).did_document(did)

    def status_list(self, url: str) -> JsonObject | None:
        found = self._local.status_list(url)
        if found is not None:
            return found
        return self._remote_or_refuse(url).status_list(url)

    def credential(self, url: str) -> JsonObject | None:
        found = self._local.credential(url)
        if found is not None:
            return found
        return self._remote_or_refuse(url).credential(url)

    def revocation_note(self, credential_id: str) -> RevocationNote | None:
        found = self._local.revocation_note(credential_id)
        if found is not None or self._remote is None:
            return found
        return self._remote.revocation_note(credential_id)


def verify_http(timeout: tuple[float, float]) -> GuardedSession:
    """A guarded HTTP session for verification: public https only, short timeouts."""
    connect, read = timeout
    return GuardedSession((min(connect, 3.0), min(read, 5.0)), allow_loopback=False)


# --- input -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Payload:
    text: str
    source: str
    ob_version: Literal["3.0", "2.0"] | None = None


def _size_check(size: int, limit: int, what: str) -> None:
    if size > limit:
        raise UnreadableBadgeError(
            f"The {what} is {_megabytes(size)}; at most {_megabytes(limit)} is accepted."
        )


def _megabytes(size: int) -> str:
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


def _read(data: bytes | str, source: str | None) -> _Payload:
    """Find the badge payload in raw input: a baked PNG/SVG, JSON, a JWS or a URL."""
    if isinstance(data, bytes):
        if data.startswith(PNG_SIGNATURE):
            _size_check(len(data), MAX_IMAGE_BYTES, "image")
            try:
                baked = unbake_png(data)
            except BakingError as exc:
                raise UnreadableBadgeError(
                    f"The PNG image could not be read: {exc}."
                ) from exc
            if baked is None:
                raise UnreadableBadgeError(
                    "This PNG image has no Open Badge baked into it. Use the badge"
                    " image downloaded from the issuer, not a screenshot or a copy."
                )
            return _Payload(baked.text.strip(), "a baked PNG image", baked.version)
        _size_check(len(data), MAX_IMAGE_BYTES, "file")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UnreadableBadgeError(
                "This file is not a PNG image, an SVG image or JSON text."
            ) from None
    else:
        text = data
    text = text.removeprefix("\ufeff")
    stripped = text.strip()
    if not stripped:
        raise UnreadableBadgeError("There is nothing to check: the input is empty.")
    if stripped.startswith("<"):
        _size_check(len(text.encode("utf-8")), MAX_IMAGE_BYTES, "image")
        try:
            baked_svg = unbake_svg(stripped)
        except BakingError as exc:
            raise UnreadableBadgeError(
                f"The SVG image could not be read: {exc}."
            ) from exc
        if baked_svg is None:
            raise UnreadableBadgeError(
                "This SVG image has no Open Badge baked into it. Use the badge"
                " image downloaded from the issuer."
            )
        return _Payload(baked_svg.text.strip(), "a baked SVG image", baked_svg.version)
    _size_check(len(stripped.encode("utf-8")), MAX_JSON_BYTES, "text")
    return _Payload(stripped, source or "JSON text", None)


def _load_json(text: str) -> JsonObject:
    def refuse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        value = json.loads(text, parse_constant=refuse_constant)
    except RecursionError:
        raise UnreadableBadgeError("The JSON is nested too deeply.") from None
    except ValueError as exc:
        raise UnreadableBadgeError(f"This is not valid JSON: {exc}.") from exc
    if not isinstance(value, dict):
        raise UnreadableBadgeError("The JSON is not an object, so not a credential.")
    if _depth(value) > MAX_JSON_DEPTH:
        raise UnreadableBadgeError("The JSON is nested too deeply.")
    return value


def _depth(value: Any) -> int:
    """Nesting depth without recursion (the input may be hostile)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                return level
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return deepest


def _jws_part(part: str) -> Any:
    try:
        return json.loads(decode_base64url("u" + part))
    except (MultibaseError, ValueError, RecursionError):
        return None


# --- inspection ----------------------------------------------------------------------


def inspect(
    data: bytes | str,
    *,
    lookup: Lookup,
    now: datetime,
    email: str | None = None,
    source: str | None = None,
) -> Report:
    """Verify a badge given as bytes or text and report each check in plain words.

    ``data`` is an OB 3.0 credential (JSON), a baked PNG or SVG, a compact JWS
    (OB 2.0 signed assertion) or a credential URL (fetched through ``lookup``).
    ``source`` names where text came from (e.g. "pasted JSON") for the report.

    :raises UnreadableBadgeError: when the input is no badge (garbage, not
        JSON, an image without a badge, a DOCTYPE SVG, too large...).
    """
    email = (email or "").strip() or None
    payload = _read(data, source)
    text = payload.text
    if payload.ob_version is None and _URL.fullmatch(text):
        return _inspect_url(text, lookup=lookup, now=now, email=email)
    if _JWS.fullmatch(text):
        return _inspect_jws(text, payload.source, lookup=lookup, now=now, email=email)
    if payload.ob_version == "2.0" and _URL.fullmatch(text):
        return _unsupported(
            payload.source,
            "This is an Open Badges 2.0 hosted assertion (a link);"
            " Open Badges 2.0 assertions are not supported yet.",
        )
    if not text.startswith("{"):
        raise UnreadableBadgeError(
            "This is not an Open Badge: expected a credential in JSON, a baked PNG"
            " or SVG image, or the credential's web address."
        )
    return _inspect_document(
        _load_json(text), payload.source, lookup=lookup, now=now, email=email
    )


def _inspect_url(
    url: str, *, lookup: Lookup, now: datetime, email: str | None
) -> Report:
    try:
        document = lookup.credential(url)
    except LookupFailure as exc:
        raise UnreadableBadgeError(
            f"The credential at {url} could not be fetched: {exc}."
        ) from exc
    if document is None:
        raise UnreadableBadgeError(f"The credential at {url} could not be fetched.")
    return _inspect_document(
        document, f"the credential at {url}", lookup=lookup, now=now, email=email
    )


def _types(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, str)]


def _inspect_document(
    document: JsonObject,
    source: str,
    *,
    lookup: Lookup,
    now: datetime,
    email: str | None,
) -> Report:
    types = _types(document.get("type"))
    contexts = _types(document.get("@context"))
    if "Assertion" in types or _OB2_CONTEXT in contexts:
        return _unsupported(
            source,
            "This is an Open Badges 2.0 hosted assertion; Open Badges 2.0"
            " assertions are not supported yet.",
        )
    if "VerifiableCredential" not in types:
        raise UnreadableBadgeError(
            "This JSON is not an Open Badge credential: its type does not include"
            " VerifiableCredential."
        )
    return _Ob3Inspection(document, source, lookup, now, email).report()


def _unsupported(source: str, reason: str) -> Report:
    checks = [Check("format", Outcome.NOT_CHECKED, reason)]
    checks += [
        Check(name, Outcome.NOT_CHECKED, "Not checked: the format is not supported.")
        for name in CHECK_NAMES[1:]
    ]
    return Report(tuple(checks), Verdict.INCOMPLETE, source)


# --- Open Badges 3.0 ---------------------------------------------------------------


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _date(value: Any) -> str | None:
    """Format an XML Schema dateTime for people ("15 January 2026"), else None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return f"{moment.day} {moment:%B %Y}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _category(error: str) -> CheckName:
    """Sort a verify_credential finding into a check (unknown ones: signature)."""
    if (
        error.startswith(("status list credential", "the status ", "credentialStatus"))
        or "revoked by its issuer" in error
    ):
        return "revocation"
    if error.startswith(
        (
            "validFrom ",
            "validUntil ",
            "the credential is not valid before",
            "the credential expired at",
        )
    ):
        return "dates"
    if "is not the controller" in error or "not listed under assertionMethod" in error:
        return "issuer"
    return "signature"


def _did_json_url(did: str) -> str | None:
    try:
        return did_web_to_url(did)
    except DidWebError:
        return None


def _did_of(method: str | None) -> str | None:
    return method.split("#", 1)[0] if method else None


def _proof_method(document: Mapping[str, Any]) -> str | None:
    proof = document.get("proof")
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]
    if not isinstance(proof, Mapping):
        return None
    method = proof.get("verificationMethod")
    return method if isinstance(method, str) else None


def _did_document_problem(document: Mapping[str, Any], did: str) -> str | None:
    if document.get("id") != did:
        return f"the DID document is not the one of {did}"
    for key in ("verificationMethod", "assertionMethod"):
        if not isinstance(document.get(key, []), list):
            return f"the DID document's {key} is not a list"
    return None


def _status_list_problem(document: Mapping[str, Any]) -> str | None:
    """Refuse status lists whose bitstring would inflate past the size limit."""
    subject = document.get("credentialSubject")
    encoded = subject.get("encodedList") if isinstance(subject, Mapping) else None
    if not isinstance(encoded, str):
        return None  # verify_credential explains what is missing
    try:
        compressed = decode_base64url(encoded)
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        inflater.decompress(compressed, MAX_STATUS_LIST_BYTES)
    except (MultibaseError, ValueError, zlib.error):
        return None  # verify_credential reports the unreadable bitstring
    if not inflater.eof and not inflater.unconsumed_tail:
        return "the status list's bitstring is cut short"
    if inflater.unused_data:
        return "the status list is not a single gzip stream"
    if inflater.unconsumed_tail:
        return (
            "the status list is larger than"
            f" {MAX_STATUS_LIST_BYTES // (1024 * 1024)} MB once unpacked"
        )
    return None


@dataclass
class _Ob3Inspection:
    """One OB 3.0 verification: fetch what is needed, verify, explain."""

    credential: JsonObject
    source: str
    lookup: Lookup
    now: datetime
    email: str | None
    did_documents: dict[str, JsonObject] = field(default_factory=dict)
    did_failures: dict[str, str] = field(default_factory=dict)
    status_url: str | None = None
    status_list: JsonObject | None = None
    status_failure: str | None = None
    status_problem: str | None = None

    def report(self) -> Report:
        method = _proof_method(self.credential)
        self._fetch_did(_did_of(method))
        self._fetch_status_list()
        status_lists = (
            {self.status_url: self.status_list}
            if self.status_url is not None and self.status_list is not None
            else {}
        )
        try:
            result = verify_credential(
                self.credential,
                resolve=resolver_for(self.did_documents),
                now=self.now,
                status_lists=status_lists,
            )
        except (
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            EOFError,
            RecursionError,
        ) as exc:
            # pyld raises plain ValueErrors (e.g. a relative @context URL) that
            # badges.jsonld does not wrap yet; hostile input must not be a 500.
            result = CredentialCheck(
                verified=False,
                errors=(f"the document could not be processed: {exc}",),
                revoked=None,
            )
        found: dict[CheckName, list[str]] = {name: [] for name in CHECK_NAMES}
        for error in result.errors:
            found[_category(error)].append(error)
        signature = self._signature(method, found["signature"])
        checks = (
            self._format(),
            signature,
            self._issuer(method, found["issuer"], found["signature"]),
            self._dates(found["dates"]),
            self._revocation(found["revocation"], result.revoked),
            self._recipient(),
        )
        if any(check.outcome is Outcome.FAILED for check in checks):
            verdict = Verdict.NOT_VERIFIED
        elif result.verified and checks[0].outcome is Outcome.PASSED:
            verdict = Verdict.VERIFIED
        else:
            verdict = Verdict.INCOMPLETE
        return Report(
            checks=checks, verdict=verdict, source=self.source, **self._display()
        )

    # fetching

    def _fetch_did(self, did: str | None) -> None:
        if did is None or did in self.did_documents or did in self.did_failures:
            return
        if not did.startswith("did:web:"):
            self.did_failures[did] = "tierpath can only look up did:web issuers"
            return
        try:
            document = self.lookup.did_document(did)
        except LookupFailure as exc:
            self.did_failures[did] = str(exc)
            return
        problem = (
            "it was not found"
            if document is None
            else _did_document_problem(document, did)
        )
        if problem is not None or document is None:
            self.did_failures[did] = problem or "it was not found"
            return
        self.did_documents[did] = document

    def _fetch_status_list(self) -> None:
        entry = self.credential.get("credentialStatus")
        if not isinstance(entry, Mapping):
            return
        if entry.get("type") != "BitstringStatusListEntry":
            return
        url = entry.get("statusListCredential")
        index = entry.get("statusListIndex")
        if not isinstance(url, str) or not (
            (isinstance(index, str) and index.isascii() and index.isdigit())
            or (isinstance(index, int) and not isinstance(index, bool))
        ):
            self.status_problem = "the revocation entry in the credential is malformed"
            return
        self.status_url = url
        try:
            document = self.lookup.status_list(url)
        except LookupFailure as exc:
            self.status_failure = str(exc)
            return
        if document is None:
            self.status_failure = "it was not found"
            return
        problem = _status_list_problem(document)
        if problem is not None:
            self.status_problem = problem
            return
        self.status_list = document
        self._fetch_did(_did_of(_proof_method(document)))

    # display

    def _issuer_profile(self) -> tuple[str | None, str | None]:
        issuer = self.credential.get("issuer")
        if isinstance(issuer, Mapping):
            return _text(issuer.get("id")), _text(issuer.get("name"))
        return _text(issuer), None

    def _achievement(self) -> Mapping[str, Any]:
        subject = self.credential.get("credentialSubject")
        if isinstance(subject, list) and subject:
            subject = subject[0]
        achievement = (
            subject.get("achievement") if isinstance(subject, Mapping) else None
        )
        return achievement if isinstance(achievement, Mapping) else {}

    def _display(self) -> dict[str, Any]:
        achievement = self._achievement()
        image = achievement.get("image")
        issuer_id, issuer_name = self._issuer_profile()
        return {
            "achievement_name": _text(achievement.get("name"))
            or _text(self.credential.get("name")),
            "achievement_description": _text(achievement.get("description"))
            or _text(self.credential.get("description")),
            "issuer_name": issuer_name,
            "issuer_id": issuer_id,
            "image": _text(image.get("id") if isinstance(image, Mapping) else image),
            "credential_id": _text(self.credential.get("id")),
        }

    def _issuer_label(self) -> str:
        issuer_id, issuer_name = self._issuer_profile()
        if issuer_name and issuer_id:
            return f"{issuer_name} ({issuer_id})"
        return issuer_name or issuer_id or "an unnamed issuer"

    # checks

    def _format(self) -> Check:
        problems = []
        contexts = self.credential.get("@context")
        context_list = contexts if isinstance(contexts, list) else [contexts]
        if context_list and context_list[0] == _VCDM1:
            problems.append(
                "it is an older (VCDM 1.1) credential; only Open Badges 3.0"
                " credentials on VCDM 2.0 can be checked here"
            )
        elif not context_list or context_list[0] != _VCDM2:
            problems.append(f"its first @context is not {_VCDM2}")
        if not any(
            isinstance(item, str) and item.startswith(_OB3_CONTEXT_PREFIX)
            for item in context_list
        ):
            problems.append("it does not use the Open Badges 3.0 context")
        types = _types(self.credential.get("type"))
        if not {"OpenBadgeCredential", "AchievementCredential"} & set(types):
            problems.append("its type is not OpenBadgeCredential")
        if not self._achievement():
            problems.append("it names no achievement")
        if _text(self.credential.get("validFrom")) is None:
            problems.append("it has no validFrom date")
        if problems:
            return Check(
                "format",
                Outcome.FAILED,
                f"This is not a well-formed Open Badges 3.0 credential: {_join(problems)}.",
                tuple(problems),
            )
        return Check(
            "format",
            Outcome.PASSED,
            f"An Open Badges 3.0 credential, read from {self.source}.",
        )

    def _signature(self, method: str | None, errors: list[str]) -> Check:
        details = tuple(errors)
        if not errors:
            fragment = (
                f" #{method.split('#', 1)[1]}" if method and "#" in method else ""
            )
            return Check(
                "signature",
                Outcome.PASSED,
                f"Signed by {self._issuer_label()} with key{fragment};"
                " the signature matches the content.",
            )
        if any("invalid signature" in error for error in errors):
            return Check(
                "signature",
                Outcome.FAILED,
                "The content was changed after it was signed:"
                " the signature does not match.",
                details,
            )
        if any("could not be resolved" in error for error in errors):
            did = _did_of(method) or ""
            if did in self.did_failures:
                url = _did_json_url(did)
                where = f" ({url})" if url else ""
                return Check(
                    "signature",
                    Outcome.NOT_CHECKED,
                    f"The issuer's public keys{where} could not be fetched:"
                    f" {self.did_failures[did]}. The signature could not be checked.",
                    details,
                )
            return Check(
                "signature",
                Outcome.FAILED,
                f"The issuer ({did}) does not publish the key that signed this"
                " credential; it may have been withdrawn.",
                details,
            )
        if any("no single Data Integrity proof" in error for error in errors):
            return Check(
                "signature",
                Outcome.FAILED,
                "The credential carries no signature (no Data Integrity proof).",
                details,
            )
        if any("safe mode" in error for error in errors):
            return Check(
                "signature",
                Outcome.FAILED,
                "The credential uses terms or contexts that are not defined, so what"
                " was signed is ambiguous and cannot be trusted.",
                details,
            )
        return Check(
            "signature",
            Outcome.FAILED,
            f"The signature cannot be accepted: {_join(errors)}.",
            details,
        )

    def _issuer(
        self, method: str | None, errors: list[str], signature_errors: list[str]
    ) -> Check:
        if errors:
            if any("is not the controller" in error for error in errors):
                text = (
                    "The key that signed it does not belong to the issuer the"
                    " credential names: someone else signed it."
                )
            else:
                text = "The issuer does not list this key as one it issues credentials with."
            return Check("issuer", Outcome.FAILED, text, tuple(errors))
        # These come after the issuer binding in verify_proof; anything else
        # stopped the check before it.
        checked_before = ("invalid signature", "proof value could not be decoded")
        if any(
            not any(marker in error for marker in checked_before)
            for error in signature_errors
        ):
            return Check(
                "issuer",
                Outcome.NOT_CHECKED,
                "Not checked, because the signature could not be checked.",
            )
        did = _did_of(method) or ""
        url = _did_json_url(did)
        where = f" at {url}" if url else ""
        return Check(
            "issuer",
            Outcome.PASSED,
            f"The signing key is published by {did}{where}, the issuer named in the"
            " credential, and listed there for issuing credentials.",
        )

    def _dates(self, errors: list[str]) -> Check:
        valid_from = _date(self.credential.get("validFrom"))
        valid_until = _date(self.credential.get("validUntil"))
        details = tuple(errors)
        if any("expired at" in error for error in errors):
            return Check(
                "dates", Outcome.FAILED, f"Expired on {valid_until} (UTC).", details
            )
        if any("not valid before" in error for error in errors):
            return Check(
                "dates", Outcome.FAILED, f"Not valid until {valid_from} (UTC).", details
            )
        if errors:
            return Check(
                "dates",
                Outcome.FAILED,
                "Its validity dates are not proper dates with a time zone.",
                details,
            )
        if valid_from is None:
            return Check(
                "dates", Outcome.FAILED, "It gives no date from which it is valid."
            )
        until = f" until {valid_until}" if valid_until else "; it does not expire"
        return Check("dates", Outcome.PASSED, f"Valid from {valid_from}{until}.")

    def _revocation(self, errors: list[str], revoked: bool | None) -> Check:
        details = tuple(errors)
        entry = self.credential.get("credentialStatus")
        url = self.status_url
        if entry is None:
            return Check(
                "revocation",
                Outcome.NOT_CHECKED,
                "The issuer gives no way to check whether this credential was revoked.",
            )
        if self.status_problem is not None:
            return Check(
                "revocation",
                Outcome.FAILED,
                f"Revocation cannot be checked: {self.status_problem}.",
                (self.status_problem, *details),
            )
        if not isinstance(entry, Mapping) or url is None:
            kind = entry.get("type") if isinstance(entry, Mapping) else None
            return Check(
                "revocation",
                Outcome.NOT_CHECKED,
                f"The credential uses a way of revoking ({kind or 'unknown'}) that"
                " tierpath cannot check.",
                details,
            )
        if self.status_failure is not None:
            return Check(
                "revocation",
                Outcome.NOT_CHECKED,
                f"The issuer's revocation list ({url}) could not be fetched:"
                f" {self.status_failure}.",
                details,
            )
        if revoked:
            note = self.lookup.revocation_note(_text(self.credential.get("id")) or "")
            if note is not None:
                text = f"Revoked by the issuer on {note.revoked_at.day} {note.revoked_at:%B %Y}"
                text += f": {note.reason}" if note.reason else "."
            else:
                text = (
                    "Revoked by the issuer: its revocation list marks this credential."
                )
            return Check("revocation", Outcome.FAILED, text, details)
        if errors:
            return Check(
                "revocation",
                Outcome.FAILED,
                f"The issuer's revocation list ({url}) cannot be trusted:"
                f" {_join([e.removeprefix('status list credential: ') for e in errors])}.",
                details,
            )
        return Check(
            "revocation",
            Outcome.PASSED,
            f"Not revoked: the issuer's signed revocation list ({url}) does not mark"
            " this credential.",
        )

    def _recipient(self) -> Check:
        subject = self.credential.get("credentialSubject")
        subjects = subject if isinstance(subject, list) else [subject]
        by_email = [
            identity
            for item in subjects
            if isinstance(item, Mapping) and isinstance(item.get("identifier"), list)
            for identity in item["identifier"]
            if isinstance(identity, Mapping)
            and identity.get("identityType") == "emailAddress"
        ]
        if not by_email:
            return Check(
                "recipient",
                Outcome.NOT_CHECKED,
                "The credential does not name its recipient by email address.",
            )
        if self.email is None:
            return Check(
                "recipient",
                Outcome.NOT_CHECKED,
                "No email was typed, so the recipient was not checked.",
            )
        # Only well-formed email identities reach recipient_matches.
        if recipient_matches(
            {"credentialSubject": {"identifier": by_email}}, self.email
        ):
            return Check(
                "recipient",
                Outcome.PASSED,
                "The email you typed matches the recipient.",
            )
        return Check(
            "recipient",
            Outcome.FAILED,
            "The email you typed does not match the recipient.",
        )


# --- Open Badges 2.0 (hook) ----------------------------------------------------------


Ob2Verifier = Callable[..., Any]


def ob2_verifier() -> Ob2Verifier | None:
    """``badges.ob2.verify_signed_assertion`` when that module is installed."""
    try:
        module = importlib.import_module("badges.ob2")
    except ImportError:
        return None
    verify = getattr(module, "verify_signed_assertion", None)
    return verify if callable(verify) else None


def _inspect_jws(
    jws: str, source: str, *, lookup: Lookup, now: datetime, email: str | None
) -> Report:
    header = _jws_part(jws.split(".")[0])
    payload = _jws_part(jws.split(".")[1])
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise UnreadableBadgeError(
            "This looks like a signed token (JWS) but its parts are not JSON."
        )
    if "vc" in payload or "VerifiableCredential" in _types(payload.get("type")):
        return _unsupported(
            source,
            "This is an Open Badges 3.0 credential in JWT form (VC-JWT), which is"
            " not supported yet; ask the issuer for the JSON credential or a baked image.",
        )
    verify = ob2_verifier()
    if verify is None:
        return _unsupported(
            source,
            "This is an Open Badges 2.0 signed assertion; Open Badges 2.0 assertions"
            " are not supported yet.",
        )
    documents, failures = _ob2_documents(payload, lookup)
    try:
        result = verify(jws, documents=documents, now=now, email=email)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise UnreadableBadgeError(
            f"The Open Badges 2.0 assertion could not be checked: {exc}."
        ) from exc
    return _ob2_report(result, source, documents, failures, email)


def _ref(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _ob2_documents(
    payload: Mapping[str, Any], lookup: Lookup
) -> tuple[dict[str, JsonObject], dict[str, str]]:
    """Fetch the badge class, issuer profile, signing key and revocation list."""
    documents: dict[str, JsonObject] = {}
    failures: dict[str, str] = {}

    def fetch(url: str | None) -> JsonObject | None:
        if url is None or not _URL.fullmatch(url):
            return None
        if url in documents:
            return documents[url]
        try:
            document = lookup.credential(url)
        except LookupFailure as exc:
            failures[url] = str(exc)
            return None
        if document is not None:
            documents[url] = document
        return document

    badge_ref = payload.get("badge")
    badge = badge_ref if isinstance(badge_ref, Mapping) and len(badge_ref) > 1 else None
    badge = badge or fetch(_ref(badge_ref))
    issuer = fetch(_ref(badge.get("issuer"))) if badge is not None else None
    verification = payload.get("verification")
    if isinstance(verification, Mapping):
        fetch(_ref(verification.get("creator")))
    if issuer is not None:
        fetch(_ref(issuer.get("revocationList")))
    return documents, failures


def _ob2_category(error: str) -> CheckName:
    if "recipient" in error:
        return "recipient"
    if "revoked" in error or "revocation list" in error or "RevocationList" in error:
        return "revocation"
    if any(
        word in error for word in ("issuedOn", "expires", "expired", "in the future")
    ):
        return "dates"
    if any(
        word in error
        for word in ("owned by", "publicKey", "issuer profile", "badge class")
    ):
        return "issuer"
    if any(
        word in error
        for word in ("not an OB 2.0 Assertion", "has no id", "verification type")
    ):
        return "format"
    return "signature"


def _ob2_report(
    result: Any,
    source: str,
    documents: Mapping[str, JsonObject],
    failures: Mapping[str, str],
    email: str | None,
) -> Report:
    errors = [str(error) for error in getattr(result, "errors", ())]
    found: dict[CheckName, list[str]] = {name: [] for name in CHECK_NAMES}
    for error in errors:
        found[_ob2_category(error)].append(error)
    passed_text: dict[CheckName, str] = {
        "format": f"An Open Badges 2.0 signed assertion, read from {source}.",
        "signature": "The RS256 signature matches the content.",
        "issuer": "The signing key belongs to the issuer and the issuer lists it.",
        "dates": "Issued in the past and not expired.",
        "revocation": "Not on the issuer's revocation list.",
        "recipient": "The email you typed matches the recipient.",
    }
    checks = []
    for name in CHECK_NAMES:
        problems = found[name]
        if name == "recipient" and email is None:
            checks.append(
                Check(
                    name,
                    Outcome.NOT_CHECKED,
                    "No email was typed, so the recipient was not checked.",
                )
            )
        elif not problems:
            checks.append(Check(name, Outcome.PASSED, passed_text[name]))
        elif all("could not be retrieved" in problem for problem in problems):
            reasons = "; ".join(f"{url}: {why}" for url, why in failures.items())
            checks.append(
                Check(
                    name,
                    Outcome.NOT_CHECKED,
                    f"Not checked: {_join(problems)}"
                    + (f" ({reasons})." if reasons else "."),
                    tuple(problems),
                )
            )
        else:
            checks.append(
                Check(
                    name,
                    Outcome.FAILED,
                    _sentence(_join(problems)),
                    tuple(problems),
                )
            )
    if any(check.outcome is Outcome.FAILED for check in checks):
        verdict = Verdict.NOT_VERIFIED
    elif getattr(result, "verified", False):
        verdict = Verdict.VERIFIED
    else:
        verdict = Verdict.INCOMPLETE
    assertion = getattr(result, "assertion", None) or {}
    badge_ref = assertion.get("badge") if isinstance(assertion, Mapping) else None
    badge = documents.get(_ref(badge_ref) or "") or (
        badge_ref if isinstance(badge_ref, Mapping) else {}
    )
    issuer = documents.get(_ref(badge.get("issuer")) or "", {})
    return Report(
        checks=tuple(checks),
        verdict=verdict,
        source=source,
        achievement_name=_text(badge.get("name")),
        achievement_description=_text(badge.get("description")),
        issuer_name=_text(issuer.get("name")),
        issuer_id=_ref(badge.get("issuer")),
        image=_text(_ref(badge.get("image"))),
        credential_id=_text(assertion.get("id"))
        if isinstance(assertion, Mapping)
        else None,
    )
