"""Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite (W3C vc-di-eddsa §3.3).

``hashData = SHA-256(canon(proofConfig)) ‖ SHA-256(canon(unsecured document))``,
signed with Ed25519; ``proofValue`` is multibase base58btc. ``canon`` is RDFC-1.0.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from badges.jsonld import (
    CanonicalizationError,
    JsonObject,
    UnsafeDocumentError,
    canonicalize_safe,
)
from badges.keys import Resolver
from badges.multibase import MultibaseError, decode_base58btc, encode_base58btc

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_PURPOSE = "assertionMethod"


class ProofError(ValueError):
    """Raised when a document cannot be signed (unsafe or not canonicalisable)."""


@dataclass(frozen=True)
class ProofCheck:
    """The outcome of checking one proof: ``verified`` or plain-English ``errors``."""

    verified: bool
    errors: tuple[str, ...]
    verification_method: str | None = None


def xml_datetime(moment: datetime) -> str:
    """Format an aware datetime as an XML Schema dateTimeStamp in UTC, whole seconds."""
    if moment.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_xml_datetime(value: Any) -> datetime | None:
    """Read an XML Schema dateTime with a time zone; None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def add_proof(
    document: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    verification_method_id: str,
    created: datetime,
) -> JsonObject:
    """Return a copy of ``document`` with an ``eddsa-rdfc-2022`` proof attached.

    The document is checked in JSON-LD safe mode first: a term the contexts do
    not define would be signed silently by pyld and rejected by other verifiers.

    :raises ProofError: if the document is unsafe or cannot be canonicalised.
    """
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    proof_options: JsonObject = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": xml_datetime(created),
        "verificationMethod": verification_method_id,
        "proofPurpose": PROOF_PURPOSE,
    }
    try:
        hash_data = _hash_data(unsecured, proof_options)
    except (UnsafeDocumentError, CanonicalizationError) as exc:
        raise ProofError(f"cannot sign: {exc}") from exc
    proof_value = encode_base58btc(private_key.sign(hash_data))
    return {**unsecured, "proof": {**proof_options, "proofValue": proof_value}}


def verify_proof(document: Mapping[str, Any], resolve: Resolver) -> ProofCheck:
    """Verify the document's ``eddsa-rdfc-2022`` proof and its issuer binding.

    Checks, in order: one proof of the right type, cryptosuite and purpose;
    JSON-LD safe mode; the verification method resolves, is controlled by the
    credential's issuer and is listed in the controller's ``assertionMethod``;
    the Ed25519 signature over the canonical hash data.
    """
    proof = document.get("proof")
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]
    if not isinstance(proof, Mapping):
        return _failed("the document has no single Data Integrity proof")
    method_id = proof.get("verificationMethod")
    errors = _proof_option_errors(proof)
    if errors:
        return _failed(*errors, method=method_id)
    assert isinstance(method_id, str)

    unsecured = {key: value for key, value in document.items() if key != "proof"}
    proof_options = {key: value for key, value in proof.items() if key != "proofValue"}
    try:
        hash_data = _hash_data(unsecured, proof_options)
    except UnsafeDocumentError as exc:
        return _failed(
            f"JSON-LD safe mode rejected the document: {exc}", method=method_id
        )
    except CanonicalizationError as exc:
        return _failed(
            f"the document could not be canonicalised: {exc}", method=method_id
        )

    resolved = resolve(method_id)
    if resolved is None:
        return _failed(
            f"verification method {method_id} could not be resolved to an Ed25519 Multikey",
            method=method_id,
        )
    issuer = issuer_id(document)
    if resolved.controller != issuer:
        errors.append(
            f"the credential issuer ({issuer}) is not the controller "
            f"({resolved.controller}) of verification method {method_id}"
        )
    if not resolved.authorised:
        errors.append(
            f"verification method {method_id} is not listed under assertionMethod "
            "by its controller"
        )

    try:
        signature = decode_base58btc(str(proof["proofValue"]))
        resolved.key.verify(signature, hash_data)
    except MultibaseError as exc:
        errors.append(f"the proof value could not be decoded: {exc}")
    except InvalidSignature:
        errors.append("the signature does not match the document (invalid signature)")
    return ProofCheck(
        verified=not errors, errors=tuple(errors), verification_method=method_id
    )


def issuer_id(document: Mapping[str, Any]) -> str | None:
    """Return ``issuer.id`` or the ``issuer`` string of a credential."""
    issuer = document.get("issuer")
    if isinstance(issuer, Mapping):
        value = issuer.get("id")
        return value if isinstance(value, str) else None
    return issuer if isinstance(issuer, str) else None


def _hash_data(unsecured: Mapping[str, Any], proof_options: Mapping[str, Any]) -> bytes:
    """Hash the proof configuration and the document, both checked in safe mode."""
    # vc-di-eddsa §3.3.4/§3.3.5: the proof configuration takes the document's @context.
    proof_config = {**proof_options, "@context": unsecured.get("@context")}
    proof_config.pop("proofValue", None)
    config_nquads = _canonical_proof_config(json.dumps(proof_config, sort_keys=True))
    document_nquads = canonicalize_safe(unsecured)
    return (
        hashlib.sha256(config_nquads.encode("utf-8")).digest()
        + hashlib.sha256(document_nquads.encode("utf-8")).digest()
    )


@lru_cache(maxsize=1024)
def _canonical_proof_config(proof_config_json: str) -> str:
    # Badges signed in one batch (same second, same key) share a proof config.
    return canonicalize_safe(json.loads(proof_config_json))


def _proof_option_errors(proof: Mapping[str, Any]) -> list[str]:
    errors = []
    if proof.get("type") != PROOF_TYPE:
        errors.append(f"proof type is {proof.get('type')!r}, expected {PROOF_TYPE!r}")
    if proof.get("cryptosuite") != CRYPTOSUITE:
        errors.append(
            f"cryptosuite is {proof.get('cryptosuite')!r}, expected {CRYPTOSUITE!r}"
        )
    if proof.get("proofPurpose") != PROOF_PURPOSE:
        errors.append(
            f"proof purpose is {proof.get('proofPurpose')!r}, expected {PROOF_PURPOSE!r}"
        )
    if not isinstance(proof.get("verificationMethod"), str):
        errors.append("the proof names no verification method")
    if not isinstance(proof.get("proofValue"), str):
        errors.append("the proof has no proofValue")
    if "@context" in proof:
        errors.append("embedded proofs with their own @context are not supported")
    return errors


def _failed(*errors: str, method: Any = None) -> ProofCheck:
    return ProofCheck(
        verified=False,
        errors=errors,
        verification_method=method if isinstance(method, str) else None,
    )
