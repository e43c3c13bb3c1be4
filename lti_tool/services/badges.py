"""Issuing Open Badges 3.0 credentials when a tier is completed, and revoking them.

`BadgeIssuer` is an EventSink in the unit of work: on `TierCompleted` it signs
the learner's credential (eddsa-rdfc-2022, the current badge key) in the same
transaction, once per enrolment, and publishes `BadgeIssued` (the xAPI
statement). Revocation flips the credential's bit in its status list.
"""

from __future__ import annotations

import functools
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from badges.credentials import (
    MIN_STATUS_LIST_BITS,
    AchievementDefinition,
    Alignment,
    EvidenceItem,
    IssuerProfile,
    StatusAllocation,
    bitstring_status_list_credential,
    open_badge_credential,
)
from badges.images import tier_badge_png, tier_badge_svg
from badges.proofs import add_proof
from lti_tool.db.models import (
    Attempt,
    BadgeCredential,
    BadgeStatusList,
    Enrolment,
    EvidenceSubmission,
    LmsUser,
    Person,
)
from lti_tool.domain.events import BadgeIssued, TierCompleted
from lti_tool.domain.programs import Program, Tier
from lti_tool.keys import KeyEncryptor
from lti_tool.services.badge_keys import (
    current_badge_signer,
    did_for,
    ensure_badge_key,
)
from lti_tool.services.ports import DomainEvent, EventSink
from lti_tool.services.programs import program_of

_log = logging.getLogger("lti_tool.badges")
# Status indexes are handed out in a scrambled order (an odd multiplier is a
# bijection modulo a power of two), so neighbours in a list are not neighbours
# in time.
_SCRAMBLE = 48_271


@dataclass(frozen=True)
class Issuer:
    """Who signs: the deployment's origin (its did:web) and display name."""

    origin: str
    name: str = "tierpath"

    @property
    def did(self) -> str:
        return did_for(self.origin)

    def profile(self) -> IssuerProfile:
        return IssuerProfile(did=self.did, name=self.name, url=self.origin)

    def credential_url(self, credential_id: str) -> str:
        return f"{self.origin}/credentials/{credential_id}"

    def status_url(self, list_id: int) -> str:
        return f"{self.origin}/status/{list_id}"

    def achievement_id(self, program_id: str, tier_id: str) -> str:
        return f"{self.origin}/achievements/{program_id}/{tier_id}"


@functools.lru_cache(maxsize=256)
def _images(title: str, subtitle: str, order: int) -> tuple[str, bytes]:
    return tier_badge_svg(title, subtitle, order), tier_badge_png(title, order)


def tier_image_svg(program: Program, tier: Tier) -> str:
    """The tier's badge picture (accessible SVG, the same every time)."""
    return _images(tier.title, program.title, tier.order + 1)[0]


def tier_image_png(program: Program, tier: Tier) -> bytes:
    """The tier's badge picture as a 256 px PNG (the same every time)."""
    return _images(tier.title, program.title, tier.order + 1)[1]


def achievement_for(
    issuer: Issuer, program: Program, tier: Tier
) -> AchievementDefinition:
    """The tier as an OB 3.0 Achievement: criteria from the program file."""
    parts = []
    if tier.modules:
        parts.append(
            f"Pass the post-test of each of the {len(tier.modules)} modules"
            f" ({', '.join(m.title for m in tier.modules)}) at"
            f" {round(tier.completion.post_test_threshold * 100)} % or more."
        )
    if tier.rotations:
        parts.append(
            f"Complete the job rotations ({', '.join(r.title for r in tier.rotations)}),"
            f" each graded by a supervisor at {round(tier.completion.rotation_threshold * 100)} %"
            " or more of its rubric."
        )
    for requirement in tier.requirements:
        parts.append(f"{requirement.title}: signed off by an instructor.")
    slug_base = f"{issuer.origin}/achievements/{program.id}/{tier.id}"
    return AchievementDefinition(
        id=issuer.achievement_id(program.id, tier.id),
        name=f"{program.title}: {tier.title}",
        description=tier.description or tier.title,
        criteria_narrative=" ".join(parts) or tier.description or tier.title,
        image_url=f"{slug_base}/image.svg",
        alignments=tuple(
            Alignment(
                target_name=skill,
                target_url=f"{slug_base}#skill-{index + 1}",
                target_type="Skill",
            )
            for index, skill in enumerate(tier.skills)
        ),
    )


def _evidence(
    session: orm.Session, enrolment: Enrolment, tier: Tier
) -> list[EvidenceItem]:
    """Minimal disclosure: results in the program, never HR data."""
    items = []
    passed = list(
        session.scalars(
            sa.select(Attempt).where(
                Attempt.enrolment_id == enrolment.id,
                Attempt.kind == "post",
                Attempt.passed.is_(True),
            )
        )
    )
    if passed:
        fractions = [
            a.points / a.max_points
            for a in passed
            if a.points is not None and a.max_points
        ]
        average = round(100 * sum(fractions) / len(fractions)) if fractions else None
        items.append(
            EvidenceItem(
                name="Module post-tests",
                narrative=f"Passed the post-tests of {len({a.module_id for a in passed})}"
                f" modules"
                + (f", average score {average} %." if average is not None else "."),
            )
        )
    titles = {r.id: r.title for r in tier.rotations}
    rotation_lines = []
    for submission in session.scalars(
        sa.select(EvidenceSubmission)
        .where(EvidenceSubmission.enrolment_id == enrolment.id)
        .order_by(EvidenceSubmission.number)
        .options(orm.selectinload(EvidenceSubmission.grades))
    ):
        primary = [g for g in submission.grades if g.rater == "primary"]
        if primary:
            grade = max(primary, key=lambda g: g.revision)
            if grade.passed:
                rotation_lines.append(
                    f"{titles.get(submission.rotation_id, submission.rotation_id)}:"
                    f" {grade.points:g} of {grade.max_points:g} rubric points"
                )
    if rotation_lines:
        items.append(
            EvidenceItem(
                name="Job rotations",
                narrative="Graded by supervisors on the rotation rubrics: "
                + "; ".join(sorted(set(rotation_lines)))
                + ".",
            )
        )
    return items


def _recipient_email(session: orm.Session, person: Person) -> str | None:
    if person.email and person.email.strip():
        return person.email
    return session.scalar(
        sa.select(LmsUser.email)
        .where(LmsUser.person_id == person.id, LmsUser.email.is_not(None))
        .order_by(LmsUser.last_launch_at.desc().nulls_last())
        .limit(1)
    )


@dataclass(frozen=True)
class StatusAllocationRow:
    """A credential's slot: its status list and index in it."""

    list_id: int
    index: int


def _allocate(session: orm.Session, now: datetime) -> StatusAllocationRow:
    query = (
        sa.select(BadgeStatusList)
        .where(BadgeStatusList.next_index < BadgeStatusList.size_bits)
        .order_by(BadgeStatusList.id.desc())
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    status_list = session.scalar(query)
    if status_list is None:
        status_list = BadgeStatusList(
            purpose="revocation",
            size_bits=MIN_STATUS_LIST_BITS,
            next_index=0,
            created_at=now,
        )
        session.add(status_list)
        session.flush()
    index = (status_list.next_index * _SCRAMBLE) % status_list.size_bits
    status_list.next_index += 1
    return StatusAllocationRow(status_list.id, index)


def issue_badge(
    session: orm.Session,
    encryptor: KeyEncryptor,
    issuer: Issuer,
    enrolment: Enrolment,
    now: datetime,
    sink: EventSink,
) -> BadgeCredential | None:
    """Sign and store the tier's credential; the live one if it exists already."""
    existing = session.scalar(
        sa.select(BadgeCredential).where(
            BadgeCredential.enrolment_id == enrolment.id,
            BadgeCredential.revoked_at.is_(None),
        )
    )
    if existing is not None:
        return existing
    person = session.get(Person, enrolment.person_id)
    assert person is not None
    email = _recipient_email(session, person)
    if email is None:
        _log.warning(
            "no badge for enrolment %s: person %s has no email to name as recipient",
            enrolment.id,
            person.id,
        )
        return None
    program = program_of(enrolment.program_version)
    tier = program.tier(enrolment.tier_id)
    ensure_badge_key(session, encryptor, now)
    signer = current_badge_signer(session, encryptor, issuer.did)
    slot = _allocate(session, now)
    credential_id = str(uuid.uuid4())
    unsigned = open_badge_credential(
        credential_id=issuer.credential_url(credential_id),
        issuer=issuer.profile(),
        achievement=achievement_for(issuer, program, tier),
        recipient_email=email,
        salt=secrets.token_hex(16),
        valid_from=now,
        valid_until=enrolment.expires_at,
        evidence=_evidence(session, enrolment, tier),
        status=StatusAllocation(
            list_url=issuer.status_url(slot.list_id), index=slot.index
        ),
    )
    signed = add_proof(unsigned, signer.private_key, signer.verification_method, now)
    credential = BadgeCredential(
        id=credential_id,
        enrolment_id=enrolment.id,
        person_id=person.id,
        program_id=program.id,
        tier_id=tier.id,
        status_list_id=slot.list_id,
        status_index=slot.index,
        issued_at=now,
        valid_until=enrolment.expires_at,
        document=signed,
    )
    session.add(credential)
    session.flush()
    sink.publish(
        BadgeIssued(
            occurred_at=now,
            enrolment_id=enrolment.id,
            person_id=person.id,
            program_id=program.id,
            tier_id=tier.id,
            credential_id=issuer.credential_url(credential_id),
            achievement_id=issuer.achievement_id(program.id, tier.id),
            achievement_name=f"{program.title}: {tier.title}",
        )
    )
    return credential


class BadgeIssuer:
    """EventSink: a completed tier gets its badge in the same transaction."""

    def __init__(
        self,
        session: orm.Session,
        encryptor: KeyEncryptor,
        issuer: Issuer,
        then: EventSink,
    ) -> None:
        self._session = session
        self._encryptor = encryptor
        self._issuer = issuer
        self._then = then

    def publish(self, event: DomainEvent) -> None:
        if not isinstance(event, TierCompleted):
            return
        enrolment = self._session.get(Enrolment, event.enrolment_id)
        assert enrolment is not None
        # The tier stays completed even if signing fails (a key that cannot be
        # decrypted, a program text safe mode refuses): the badge is undone on
        # its own and waits on the admin page's "Issue now".
        try:
            with self._session.begin_nested():
                issue_badge(
                    self._session,
                    self._encryptor,
                    self._issuer,
                    enrolment,
                    event.occurred_at,
                    self._then,
                )
        except Exception:  # noqa: BLE001 - a badge must never undo a completion
            _log.exception(
                "badge for enrolment %s not issued; the tier stays completed and"
                " the badge can be issued from the admin page",
                enrolment.id,
            )


def revoke_badge(
    session: orm.Session,
    credential_id: str,
    reason: str,
    now: datetime,
    *,
    revoked_by: str | None = None,
) -> BadgeCredential:
    """Revoke a credential: its bit is set in the next status list served.

    Revoking twice keeps the first date and reason.
    """
    credential = session.get(BadgeCredential, credential_id)
    if credential is None:
        raise LookupError(f"no credential {credential_id}")
    if credential.revoked_at is None:
        credential.revoked_at = now
        credential.revoked_reason = reason.strip()[:2000] or "revoked by the issuer"
        credential.revoked_by = revoked_by
        status_list = session.get(BadgeStatusList, credential.status_list_id)
        assert status_list is not None
        status_list.signed_document = None  # re-signed on the next request
        session.flush()
    return credential


def reissue_badge(
    session: orm.Session,
    encryptor: KeyEncryptor,
    issuer: Issuer,
    credential_id: str,
    reason: str,
    now: datetime,
    sink: EventSink,
    *,
    revoked_by: str | None = None,
) -> BadgeCredential | None:
    """A correction: revoke the credential and issue a fresh one from today's data.

    Returns the new credential, or None when none can be issued (no email).
    Nothing changes in that case.
    """
    old = session.get(BadgeCredential, credential_id)
    if old is None:
        raise LookupError(f"no credential {credential_id}")
    if old.revoked_at is not None:
        raise ValueError("a revoked credential cannot be re-issued")
    enrolment = session.get(Enrolment, old.enrolment_id)
    assert enrolment is not None
    person = session.get(Person, enrolment.person_id)
    assert person is not None
    if _recipient_email(session, person) is None:
        return None
    revoke_badge(
        session,
        credential_id,
        f"Replaced by a corrected credential. {reason}".strip(),
        now,
        revoked_by=revoked_by,
    )
    new = issue_badge(session, encryptor, issuer, enrolment, now, sink)
    if new is not None:
        old.replaced_by = new.id
        session.flush()
    return new


def status_list_credential(
    session: orm.Session,
    encryptor: KeyEncryptor,
    issuer: Issuer,
    list_id: int,
    now: datetime,
) -> dict[str, Any] | None:
    """The signed BitstringStatusListCredential with every revoked index set.

    Signed once and kept until a bit changes or the badge key rotates.
    """
    status_list = session.get(BadgeStatusList, list_id)
    if status_list is None:
        return None
    ensure_badge_key(session, encryptor, now)
    signer = current_badge_signer(session, encryptor, issuer.did)
    cached = status_list.signed_document
    if (
        cached is not None
        and cached.get("id") == issuer.status_url(list_id)
        and cached.get("proof", {}).get("verificationMethod")
        == signer.verification_method
    ):
        return cached
    revoked = session.scalars(
        sa.select(BadgeCredential.status_index).where(
            BadgeCredential.status_list_id == list_id,
            BadgeCredential.revoked_at.is_not(None),
        )
    ).all()
    unsigned = bitstring_status_list_credential(
        list_url=issuer.status_url(list_id),
        issuer_id=issuer.did,
        revoked_indices=list(revoked),
        valid_from=now,
        size_bits=status_list.size_bits,
    )
    signed = add_proof(unsigned, signer.private_key, signer.verification_method, now)
    status_list.signed_document = signed
    session.flush()
    return signed


def badges_of(session: orm.Session, person_id: int) -> list[BadgeCredential]:
    """A person's credentials, newest first (revoked ones included, marked)."""
    return list(
        session.scalars(
            sa.select(BadgeCredential)
            .where(BadgeCredential.person_id == person_id)
            .order_by(BadgeCredential.issued_at.desc(), BadgeCredential.id)
        )
    )


def completed_without_badge(
    session: orm.Session, *, person_id: int | None = None, limit: int = 200
) -> list[Enrolment]:
    """Completed tiers that were never issued a credential (e.g. no email known)."""
    issued = sa.select(BadgeCredential.enrolment_id)
    query = sa.select(Enrolment).where(
        Enrolment.state == "completed", Enrolment.id.not_in(issued)
    )
    if person_id is not None:
        query = query.where(Enrolment.person_id == person_id)
    return list(
        session.scalars(
            query.order_by(
                Enrolment.completed_at.desc().nulls_last(), Enrolment.id
            ).limit(limit)
        )
    )


def credential_state(credential: BadgeCredential, now: datetime) -> str:
    """``revoked``, ``expired`` or ``valid``: what the public page says first."""
    if credential.revoked_at is not None:
        return "revoked"
    if credential.valid_until is not None and credential.valid_until < now:
        return "expired"
    return "valid"
