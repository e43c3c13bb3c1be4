"""Verify an Open Badges 3.0 credential: proof, validity window and revocation status.

The checklist of OB 3.0 "Verification and Validation" for embedded proofs,
without network: DID documents come through a resolver and status list
credentials through a mapping, both supplied by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from badges.credentials import status_bit
from badges.keys import Resolver
from badges.multibase import MultibaseError
from badges.proofs import issuer_id, parse_xml_datetime, verify_proof

# VCDM verifiers (e.g. @digitalbazaar/vc) tolerate this much clock skew.
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class CredentialCheck:
    """The verdict on a credential.

    ``revoked`` is None when the credential has no status entry or its status
    could not be determined.
    """

    verified: bool
    errors: tuple[str, ...]
    revoked: bool | None


def verify_credential(
    credential: Mapping[str, Any],
    *,
    resolve: Resolver,
    now: datetime,
    status_lists: Mapping[str, Mapping[str, Any]],
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> CredentialCheck:
    """Check the proof, ``validFrom``/``validUntil`` at ``now`` and revocation status.

    A revoked credential is reported as not verified (unlike @digitalbazaar/vc,
    which leaves that decision to the caller).
    """
    errors = list(verify_proof(credential, resolve).errors)
    errors += _validity_errors(credential, now, clock_skew)
    revoked: bool | None = None
    status = credential.get("credentialStatus")
    if status is not None:
        revoked, status_errors = _check_status(
            status, issuer_id(credential), resolve, now, status_lists, clock_skew
        )
        errors += status_errors
        if revoked:
            errors.append("the credential has been revoked by its issuer")
    return CredentialCheck(verified=not errors, errors=tuple(errors), revoked=revoked)


def _validity_errors(
    credential: Mapping[str, Any], now: datetime, clock_skew: timedelta
) -> list[str]:
    errors = []
    valid_from = parse_xml_datetime(credential.get("validFrom"))
    valid_until = parse_xml_datetime(credential.get("validUntil"))
    if "validFrom" in credential and valid_from is None:
        errors.append("validFrom is not an XML Schema dateTime with a time zone")
    if "validUntil" in credential and valid_until is None:
        errors.append("validUntil is not an XML Schema dateTime with a time zone")
    if valid_from is not None and now + clock_skew < valid_from:
        errors.append(f"the credential is not valid before {credential['validFrom']}")
    if valid_until is not None and now - clock_skew > valid_until:
        errors.append(f"the credential expired at {credential['validUntil']}")
    return errors


def _check_status(
    status: Any,
    issuer: str | None,
    resolve: Resolver,
    now: datetime,
    status_lists: Mapping[str, Mapping[str, Any]],
    clock_skew: timedelta,
) -> tuple[bool | None, list[str]]:
    if (
        not isinstance(status, Mapping)
        or status.get("type") != "BitstringStatusListEntry"
    ):
        return None, ["credentialStatus is not a single BitstringStatusListEntry"]
    url = status.get("statusListCredential")
    list_credential = status_lists.get(url) if isinstance(url, str) else None
    if list_credential is None:
        return None, [f"status list credential {url} could not be retrieved"]
    errors = [
        f"status list credential: {error}"
        for error in verify_proof(list_credential, resolve).errors
    ]
    errors += [
        f"status list credential: {error}"
        for error in _validity_errors(list_credential, now, clock_skew)
    ]
    if issuer_id(list_credential) != issuer:
        errors.append("the status list credential has a different issuer")
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, Mapping) or subject.get("type") != "BitstringStatusList":
        return None, [*errors, "the status list credential has no BitstringStatusList"]
    if subject.get("statusPurpose") != status.get("statusPurpose"):
        errors.append("the status purposes of the entry and the list differ")
    try:
        index = status.get("statusListIndex")
        if not isinstance(index, str) or not index.isdigit():
            raise ValueError(f"statusListIndex {index!r} is not a whole number")
        revoked = status_bit(str(subject.get("encodedList")), int(index))
    except (ValueError, OSError, EOFError, MultibaseError) as exc:
        return None, [*errors, f"the status bit could not be read: {exc}"]
    return (None if errors else revoked), errors
