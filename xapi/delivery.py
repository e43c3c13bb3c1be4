"""Forward outbox statements to external LRSs: the batch algorithm and the worker loop.

`deliver_batch` decides, from what the LRS answers, what becomes of each
statement of a batch: sent, retry later, dead, or released (given back
untouched because the target must be paused). `Deliverer` claims batches from
an `OutboxStore`, runs `deliver_batch` and writes the outcomes back.

Why it is shaped like this:

* **409 is all or nothing.** The ADL LRS answers 409 to the whole batch if any
  one id in it is already stored, and stores none of it (xapi research §8);
  an identical re-send also gets 409. So a 409 says neither "all delivered"
  nor "all rejected": each statement is looked up (GET ?statementId=) and
  compared by meaning (`same_statement`); the ones the LRS lacks are sent
  again as a smaller batch.
* **400 rejects the whole batch for one bad statement.** The batch is split in
  halves and each half delivered on its own (bisect), so only the offending
  statement(s) end up dead and the rest are sent, in O(k·log n) requests.
* **401/403/404/405 are not the statements' fault.** Wrong credentials or a
  wrong endpoint: the target is paused for an admin and the claimed rows are
  released without counting an attempt, so nothing dies of a typo.
* **Rows are leased, not locked.** Each store call is its own short
  transaction; while a batch is in flight its rows carry a lease
  (`lease_until`, the worker's id) so no other worker sends them at the same
  time — the ADL LRS's duplicate check is check-then-insert, and concurrent
  senders of one id can store it twice. A worker that dies lets the lease
  lapse and the rows become due again; re-sending is safe because ids are
  deterministic and every 409 is verified. Choose a lease longer than a
  batch can take (a bisected batch of n costs up to ~2n requests).
"""

from __future__ import annotations

import enum
import logging
import random
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from xapi.client import LrsReply, ReplyKind
from xapi.identity import AgentError, agent_key
from xapi.outbox import AttachmentPart, OutboxItem, OutboxStore, Target

__all__ = [
    "MAX_CONFLICT_ROUNDS",
    "BatchResult",
    "Deliverer",
    "DeliveryReport",
    "ItemOutcome",
    "Outcome",
    "RetryPolicy",
    "StatementClient",
    "deliver_batch",
    "same_statement",
]

_log = logging.getLogger("xapi.delivery")

# How many times statements the LRS says it knows (409) but cannot show us
# (GET 404) are sent again before they wait for a later round instead.
MAX_CONFLICT_ROUNDS: Final = 3
DIFFERENT_STATEMENT: Final = "the LRS holds a different statement under this id"


class StatementClient(Protocol):
    """The part of `xapi.client.LrsClient` delivery uses (a fake in tests)."""

    def post_statements(
        self,
        statements: Sequence[Mapping[str, Any]],
        attachments: Sequence[AttachmentPart] = (),
    ) -> LrsReply: ...

    def get_statement(self, statement_id: str, *, voided: bool = False) -> LrsReply: ...


# -- retry policy --------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with ±20 % jitter, and when to stop trying.

    `delay(n)` = min(cap, base·2ⁿ) * uniform(0.8, 1.2) seconds after the n-th
    failed attempt (n = attempts before this one); jitter keeps many rows that
    failed together from coming back together. A statement is given up
    (`gives_up`) once it has been in the outbox for `give_up_after`.
    """

    base: float
    cap: float
    give_up_after: timedelta

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base:
            raise ValueError("retry policy needs 0 < base <= cap")
        if self.give_up_after <= timedelta(0):
            raise ValueError("give_up_after must be positive")

    def delay(self, attempts: int, rng: random.Random) -> float:
        exponent = min(max(attempts, 0), 60)  # 2**60 is past any cap; avoids overflow
        return min(self.cap, self.base * 2.0**exponent) * rng.uniform(0.8, 1.2)

    def gives_up(self, recorded_at: datetime, now: datetime) -> bool:
        return now - recorded_at >= self.give_up_after


# -- statement comparison -----------------------------------------------------------


def same_statement(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Do two statement JSONs mean the same statement?

    LRSs do not give back what they were sent: they add `stored`, `authority`
    and `version`, rewrite timestamps (`…024Z` → `…024000+00:00`), may
    truncate durations, reorder keys, and return `6.0` for `6` (xapi research
    §8; Data 2.3.1 lists what an LRS may change). So compare what identifies
    the statement and what it asserts: id, actor (by its inverse functional
    identifier), verb id, object (id, or IFI / nested meaning), result
    (success, completion, response, score, extensions) and
    `context.registration`. Anything unreadable compares unequal.
    """
    try:
        return _meaning(a) == _meaning(b)
    except (AgentError, KeyError, TypeError, ValueError, AttributeError):
        return False


def _meaning(s: Mapping[str, Any]) -> tuple[Any, ...]:
    return (_uuid(s["id"]), *_assertion(s))


def _assertion(s: Mapping[str, Any]) -> tuple[Any, ...]:
    context = s.get("context") or {}
    registration = context.get("registration")
    return (
        _actor(s["actor"]),
        str(s["verb"]["id"]),
        _object(s["object"]),
        _result(s.get("result")),
        _uuid(registration) if registration is not None else None,
    )


def _uuid(value: Any) -> str:
    return str(uuid.UUID(str(value)))


def _actor(actor: Mapping[str, Any]) -> str:
    try:
        return agent_key(actor)
    except AgentError:
        # An anonymous Group is identified by its members.
        if actor.get("objectType") != "Group" or not actor.get("member"):
            raise
        return "group:" + "|".join(sorted(agent_key(m) for m in actor["member"]))


def _object(obj: Mapping[str, Any]) -> tuple[Any, ...]:
    kind = obj.get("objectType", "Activity")
    if kind in ("Agent", "Group"):
        return ("agent", _actor(obj))
    if kind == "StatementRef":
        return ("ref", _uuid(obj["id"]))
    if kind == "SubStatement":
        return ("sub", *_assertion(obj))
    return ("activity", str(obj["id"]))


def _result(result: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    if not result:
        return None
    return (
        result.get("success"),
        result.get("completion"),
        result.get("response"),
        result.get("score") or None,
        result.get("extensions") or None,
    )


# -- one batch --------------------------------------------------------------------


class Outcome(enum.Enum):
    SENT = "sent"  # the LRS has it
    RETRY = "retry"  # try again later (the Deliverer may give up instead)
    DEAD = "dead"  # the LRS will never accept it
    RELEASED = "released"  # not tried; give it back without counting an attempt


@dataclass(frozen=True)
class ItemOutcome:
    item: OutboxItem
    outcome: Outcome
    status: int | None  # the HTTP status that decided it; None without an answer
    message: str  # why, for RETRY / DEAD / RELEASED ("" when sent)
    retry_after: float | None = None  # seconds the LRS asked us to wait


@dataclass(frozen=True)
class BatchResult:
    """What became of each statement of a batch, in the batch's order."""

    outcomes: tuple[ItemOutcome, ...]
    pause_reason: str | None  # set: pause the target, the items were released
    last_error: str | None  # the last thing that went wrong, for the target's status
    requests: int  # HTTP requests this batch took

    def of(self, outcome: Outcome) -> list[ItemOutcome]:
        return [o for o in self.outcomes if o.outcome is outcome]


def deliver_batch(
    client: StatementClient,
    items: Sequence[OutboxItem],
    attachments: Sequence[AttachmentPart] = (),
) -> BatchResult:
    """Send `items` to one LRS and decide each one's outcome.

    Pure apart from the client's requests: no clock, no store. A RETRY
    outcome carries the LRS's Retry-After; the caller turns it into a next
    attempt time or, past the give-up age, a dead letter.

    * STORED (2xx) → all sent.
    * CONFLICT (409) → look each statement up: the same one → sent; a
      different one under our id → dead; unknown → sent again as a batch
      (at most MAX_CONFLICT_ROUNDS times). A voided statement is looked up
      by `voidedStatementId`. If the credentials may write but not read,
      each statement is posted on its own instead and a lone 409 accepted.
    * REJECTED (400, 413, 422…) → one statement: dead with the LRS's words;
      several: bisect.
    * AUTH / MISCONFIGURED → pause the target; every item not yet settled is
      released.
    * RETRY (429, 5xx, no answer) → this and every item not yet settled retry;
      nothing more is sent to an LRS that is not answering.
    """
    run = _BatchRun(client, attachments)
    run.deliver(list(items), 0)
    outcomes = tuple(
        run.outcomes.get(
            item.entry_id, ItemOutcome(item, Outcome.RELEASED, None, "not tried")
        )
        for item in items
    )
    return BatchResult(outcomes, run.pause_reason, run.last_error, run.requests)


class _BatchRun:
    def __init__(
        self, client: StatementClient, attachments: Sequence[AttachmentPart]
    ) -> None:
        self.client = client
        self.parts = {part.sha256.lower(): part for part in attachments}
        self.outcomes: dict[int, ItemOutcome] = {}
        self.pause_reason: str | None = None
        self.unavailable: LrsReply | None = None  # the LRS stopped answering
        self.cannot_read = False  # GET refused: probe 409s one by one instead
        self.last_error: str | None = None
        self.requests = 0

    # settling ------------------------------------------------------------------

    def settle(
        self,
        items: Sequence[OutboxItem],
        outcome: Outcome,
        status: int | None,
        message: str = "",
        retry_after: float | None = None,
    ) -> None:
        for item in items:
            self.outcomes[item.entry_id] = ItemOutcome(
                item, outcome, status, message, retry_after
            )

    def stopped(self, items: Sequence[OutboxItem]) -> bool:
        """After a pause or an outage nothing more is sent: settle the rest."""
        if self.pause_reason is not None:
            self.settle(items, Outcome.RELEASED, None, self.pause_reason)
            return True
        if self.unavailable is not None:
            reply = self.unavailable
            self.settle(
                items, Outcome.RETRY, reply.status, reply.message, reply.retry_after
            )
            return True
        return False

    def fail(self, items: Sequence[OutboxItem], reply: LrsReply) -> None:
        """AUTH, MISCONFIGURED or RETRY: stop the batch."""
        self.last_error = reply.message
        if reply.kind is ReplyKind.RETRY:
            self.unavailable = reply
        else:
            self.pause_reason = reply.message
        self.stopped(items)

    # requests ------------------------------------------------------------------

    def post(self, items: Sequence[OutboxItem]) -> LrsReply:
        self.requests += 1
        return self.client.post_statements(
            [item.payload for item in items], self.parts_for(items)
        )

    def get(self, statement_id: str, *, voided: bool) -> LrsReply:
        self.requests += 1
        return self.client.get_statement(statement_id, voided=voided)

    def parts_for(self, items: Sequence[OutboxItem]) -> list[AttachmentPart]:
        """Only the parts these statements reference: a bisected half carries its own."""
        wanted: list[str] = []
        for item in items:
            for attachment in item.payload.get("attachments") or ():
                sha = (
                    attachment.get("sha2") if isinstance(attachment, Mapping) else None
                )
                if isinstance(sha, str) and sha.lower() in self.parts:
                    wanted.append(sha.lower())
        return [self.parts[sha] for sha in dict.fromkeys(wanted)]

    # the algorithm ---------------------------------------------------------------

    def deliver(self, items: list[OutboxItem], conflict_round: int) -> None:
        if not items or self.stopped(items):
            return
        reply = self.post(items)
        if reply.kind is ReplyKind.STORED:
            self.settle(items, Outcome.SENT, reply.status)
        elif reply.kind is ReplyKind.CONFLICT:
            self.conflict(items, reply, conflict_round)
        elif reply.kind is ReplyKind.REJECTED:
            self.last_error = reply.message
            if len(items) == 1:
                self.settle(items, Outcome.DEAD, reply.status, reply.message)
            else:
                middle = len(items) // 2
                self.deliver(items[:middle], conflict_round)
                self.deliver(items[middle:], conflict_round)
        else:  # AUTH, MISCONFIGURED, RETRY
            self.fail(items, reply)

    def conflict(
        self, items: list[OutboxItem], reply: LrsReply, conflict_round: int
    ) -> None:
        """409: something in `items` is known. Find out what, statement by statement."""
        if len(items) == 1 and self.cannot_read:
            # A lone statement's 409 means the LRS has this id; with write-only
            # credentials that is as far as we can verify.
            self.settle(items, Outcome.SENT, reply.status)
            return
        if conflict_round >= MAX_CONFLICT_ROUNDS:
            message = (
                f"{reply.message} (the LRS says it knows these statements"
                " but does not return them)"
            )
            self.last_error = message
            self.settle(items, Outcome.RETRY, reply.status, message)
            return
        missing: list[OutboxItem] = []
        for index, item in enumerate(items):
            if self.stopped([*missing, *items[index:]]):
                return
            if self.cannot_read:
                self.deliver([item], conflict_round + 1)
                continue
            found = self.lookup(item)
            if found.kind is ReplyKind.STORED:
                if same_statement(item.payload, found.body):
                    self.settle([item], Outcome.SENT, reply.status)
                else:
                    self.last_error = DIFFERENT_STATEMENT
                    self.settle([item], Outcome.DEAD, reply.status, DIFFERENT_STATEMENT)
            elif found.status == 404:
                missing.append(item)
            elif found.kind is ReplyKind.RETRY:  # the LRS stopped answering
                self.fail([*missing, *items[index:]], found)
                return
            else:
                # The GET itself is refused (write-only credentials, no read
                # route): post one by one, where a lone 409 is unambiguous.
                self.cannot_read = True
                self.deliver([item], conflict_round + 1)
        self.deliver(missing, conflict_round + 1)

    def lookup(self, item: OutboxItem) -> LrsReply:
        """GET the statement; a voided one is only found by voidedStatementId."""
        found = self.get(item.statement_id, voided=False)
        if found.status == 404:
            voided = self.get(item.statement_id, voided=True)
            if voided.kind in (ReplyKind.STORED, ReplyKind.RETRY):
                return voided
        return found


# -- the worker ---------------------------------------------------------------------


@dataclass
class DeliveryReport:
    """What one `run_once` did."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0
    batches: int = 0
    paused_targets: list[str] = field(default_factory=list)
    last_errors: dict[str, str] = field(default_factory=dict)  # target name → error

    @property
    def progressed(self) -> bool:
        """Something left the outbox (sent or dead): there may be more right away."""
        return self.sent > 0 or self.dead > 0

    def summary(self) -> str:
        text = (
            f"{self.sent} sent, {self.retried} to retry, {self.dead} dead"
            f" in {self.batches} batch{'' if self.batches == 1 else 'es'}"
        )
        if self.released:
            text += f", {self.released} released"
        if self.paused_targets:
            text += f"; paused: {', '.join(self.paused_targets)}"
        for name, error in self.last_errors.items():
            text += f"\n  {name}: {error}"
        return text


class Deliverer:
    """Drains the outbox to every active target; one instance per worker thread."""

    def __init__(
        self,
        store: OutboxStore,
        client_for: Callable[[Target], StatementClient],
        policy: RetryPolicy,
        clock: Callable[[], datetime],
        rng: random.Random,
        worker_id: str,
        lease: timedelta,
        batch_size: int,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if lease <= timedelta(0):
            raise ValueError("lease must be positive")
        self.store = store
        self.client_for = client_for
        self.policy = policy
        self.clock = clock
        self.rng = rng
        self.worker_id = worker_id
        self.lease = lease
        self.batch_size = batch_size

    def run_once(self, max_batches: int | None = None) -> DeliveryReport:
        """Send what is due to every active target; `max_batches` per target.

        A target is drained batch by batch until nothing is due, until a
        batch ends in retries (its LRS is not answering: the rest can wait),
        or until it is paused.
        """
        report = DeliveryReport()
        for target in self.store.active_targets():
            self._drain(target, report, max_batches)
        return report

    def run_forever(self, stop: threading.Event, poll_interval: float) -> None:
        """Deliver until `stop` is set; wait `poll_interval` after an idle round.

        An exception from the store or a client ends the round, not the loop:
        it is logged (type and a short message; the traceback at DEBUG, since
        database errors can quote statement payloads) and the next round
        waits longer each time, up to 5 minutes.
        """
        failures = 0
        while not stop.is_set():
            try:
                report = self.run_once()
            except Exception as exc:  # noqa: BLE001 - the worker must outlive a bad round
                failures += 1
                delay = min(
                    max(poll_interval, 0.01) * 2.0 ** min(failures, 10),
                    max(poll_interval, 300.0),
                )
                _log.error(
                    "xAPI delivery round failed (%s); next round in %.1f s",
                    _describe(exc),
                    delay,
                )
                _log.debug("xAPI delivery round failure", exc_info=True)
                stop.wait(delay)
                continue
            failures = 0
            if report.batches:
                _log.info("xAPI delivery: %s", report.summary())
            if not report.progressed:
                stop.wait(poll_interval)

    # -- internals -------------------------------------------------------------------

    def _drain(
        self, target: Target, report: DeliveryReport, max_batches: int | None
    ) -> None:
        try:
            client = self.client_for(target)
        except ValueError as exc:
            reason = f"the LRS endpoint is not usable: {exc}"
            self.store.pause_target(target.id, self.clock(), reason)
            report.paused_targets.append(target.name)
            report.last_errors[target.name] = reason
            return
        limit = max(1, min(target.batch_size, self.batch_size))
        batches = 0
        while max_batches is None or batches < max_batches:
            claimed_at = self.clock()
            items = self.store.claim(
                target.id,
                limit,
                claimed_at,
                claimed_at + self.lease,
                self.worker_id,
            )
            if not items:
                return
            batches += 1
            report.batches += 1
            result = self._deliver(client, items)
            done = self.clock()
            if done > claimed_at + self.lease:
                _log.warning(
                    "a batch of %d statements for LRS %r took longer than the lease"
                    " (%s); raise the lease or lower the batch size",
                    len(items),
                    target.name,
                    self.lease,
                )
            self._apply(target, result, done, report)
            if (
                result.pause_reason is not None
                or result.of(Outcome.RETRY)
                or result.of(Outcome.RELEASED)  # never re-claim what was given back
            ):
                return
            if len(items) < limit:
                return

    def _deliver(self, client: StatementClient, items: list[OutboxItem]) -> BatchResult:
        try:
            return deliver_batch(client, items, self.store.attachments_for(items))
        except Exception as exc:  # noqa: BLE001 - a bug must not loop on the same rows
            message = f"internal error while delivering ({_describe(exc)})"
            _log.error("xAPI delivery: %s", message)
            _log.debug("xAPI delivery failure", exc_info=True)
            return BatchResult(
                tuple(
                    ItemOutcome(item, Outcome.RETRY, None, message) for item in items
                ),
                None,
                message,
                0,
            )

    def _apply(
        self, target: Target, result: BatchResult, now: datetime, report: DeliveryReport
    ) -> None:
        store = self.store
        sent_by_status: dict[int | None, list[int]] = defaultdict(list)
        for o in result.of(Outcome.SENT):
            sent_by_status[o.status].append(o.item.entry_id)
        for status, ids in sent_by_status.items():
            store.mark_sent(ids, now, status)
        report.sent += sum(len(ids) for ids in sent_by_status.values())

        for o in result.of(Outcome.DEAD):
            store.mark_dead(o.item.entry_id, now, o.status, o.message)
            report.dead += 1

        # Rows that failed together usually share their attempt count: one
        # jittered delay (and one UPDATE) per group rather than per row.
        retry_groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for o in result.of(Outcome.RETRY):
            if self.policy.gives_up(o.item.recorded_at, now):
                message = f"{o.message} (gave up after {_duration(self.policy.give_up_after)})"
                store.mark_dead(o.item.entry_id, now, o.status, message)
                report.dead += 1
                continue
            key = (o.item.attempts, o.retry_after, o.status, o.message)
            retry_groups[key].append(o.item.entry_id)
        for (attempts, retry_after, status, message), ids in retry_groups.items():
            if retry_after is not None:
                delay = min(retry_after, self.policy.cap)  # the LRS said when
            else:
                delay = self.policy.delay(attempts, self.rng)
            store.mark_retry(ids, now, now + timedelta(seconds=delay), status, message)
            report.retried += len(ids)

        released = [o.item.entry_id for o in result.of(Outcome.RELEASED)]
        if released:
            store.release(released)
            report.released += len(released)

        if result.pause_reason is not None:
            store.pause_target(target.id, now, result.pause_reason)
            report.paused_targets.append(target.name)
            _log.warning(
                "xAPI delivery to LRS %r paused: %s", target.name, result.pause_reason
            )
        else:
            if sent_by_status:
                store.note_result(target.id, now, None)
            if result.last_error is not None:
                store.note_result(target.id, now, result.last_error)
        if result.last_error is not None:
            report.last_errors[target.name] = result.last_error
            if result.pause_reason is None:
                _log.warning(
                    "xAPI delivery to LRS %r: %s", target.name, result.last_error
                )


def _describe(exc: BaseException) -> str:
    """Type and a short message: never a whole payload a database error may quote."""
    text = " ".join(str(exc).split())
    if len(text) > 200:
        text = text[:199] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'' if days == 1 else 's'}"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"
