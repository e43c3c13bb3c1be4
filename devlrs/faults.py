"""The fault plan: how devlrs misbehaves on purpose.

Faults apply to the statement resource (``/xapi/statements``).  Counted faults
count down once per request they affect; ``reject_ids`` stays until cleared.
Set a plan from Python (``live.faults.set(FaultPlan(...))`` or the helpers
such as ``live.faults.fail_next(2, status=503)``) or as JSON through
``POST /_control/faults`` (same field names, see :meth:`FaultPlan.from_json`).

Order in one request: ``delay`` (sleep), then ``fail_next`` (answer the
injected status, store nothing), then normal checks (``reject_ids`` is one of
them), then storing, then ``store_then_hang`` (sleep) and ``store_then_fail``
(answer an error although the statements are stored).  The two ``store_then``
faults are only used up by a request that stored something.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

WRITE_METHODS: tuple[str, ...] = ("POST", "PUT")
ALL_METHODS: tuple[str, ...] = ("GET", "POST", "PUT")
DEFAULT_REJECT_REASON = "rejected by the devlrs fault plan"


class FaultPlanError(ValueError):
    """A fault plan (usually JSON from the control API) is malformed."""


@dataclass(frozen=True)
class FailNext:
    """Answer the next ``count`` statement requests with ``status``."""

    count: int = 1
    status: int = 503
    message: str = "injected failure"
    methods: tuple[str, ...] = WRITE_METHODS
    retry_after: int | None = None


@dataclass(frozen=True)
class Delay:
    """Sleep ``seconds`` before each of the next ``count`` requests (None: all)."""

    seconds: float
    count: int | None = None
    methods: tuple[str, ...] = WRITE_METHODS


@dataclass(frozen=True)
class StoreThenFail:
    """Store the next ``count`` writes, then answer ``status`` anyway."""

    count: int = 1
    status: int = 500
    message: str = "injected failure after storing"


@dataclass(frozen=True)
class StoreThenHang:
    """Store the next ``count`` writes, then sleep ``seconds`` before answering."""

    seconds: float
    count: int = 1


@dataclass(frozen=True)
class FaultPlan:
    """Everything devlrs is told to do wrong; the empty plan is a healthy LRS.

    ``reject_ids`` maps a statement id to the reason it is called invalid.
    """

    fail_next: FailNext | None = None
    delay: Delay | None = None
    reject_ids: Mapping[str, str] = field(default_factory=dict)
    store_then_fail: StoreThenFail | None = None
    store_then_hang: StoreThenHang | None = None

    @property
    def empty(self) -> bool:
        return self == FaultPlan()

    def to_json(self) -> dict[str, Any]:
        """The plan as the control API shows it (spent faults are null)."""
        return {
            "fail_next": _part_json(self.fail_next),
            "delay": _part_json(self.delay),
            "reject_ids": dict(self.reject_ids),
            "store_then_fail": _part_json(self.store_then_fail),
            "store_then_hang": _part_json(self.store_then_hang),
        }

    @classmethod
    def from_json(cls, data: object) -> FaultPlan:
        """Build a plan from JSON; missing keys mean "no such fault".

        ``reject_ids`` may be a list of ids or an object ``{id: reason}``.
        """
        if not isinstance(data, dict):
            raise FaultPlanError("the fault plan must be a JSON object")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise FaultPlanError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        return cls(
            fail_next=_part(FailNext, data.get("fail_next")),
            delay=_part(Delay, data.get("delay")),
            reject_ids=_reject_ids(data.get("reject_ids")),
            store_then_fail=_part(StoreThenFail, data.get("store_then_fail")),
            store_then_hang=_part(StoreThenHang, data.get("store_then_hang")),
        )


class Faults:
    """The live, thread-safe fault plan of one devlrs app."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self._plan = plan or FaultPlan()

    @property
    def plan(self) -> FaultPlan:
        """What is left of the plan right now."""
        with self._lock:
            return self._plan

    def set(
        self,
        plan: FaultPlan | None = None,
        *,
        fail_next: FailNext | None = None,
        delay: Delay | None = None,
        reject_ids: Iterable[str] | Mapping[str, str] | None = None,
        store_then_fail: StoreThenFail | None = None,
        store_then_hang: StoreThenHang | None = None,
    ) -> FaultPlan:
        """Replace the whole plan by ``plan`` with the given parts put in."""
        base = plan or FaultPlan()
        new = FaultPlan(
            fail_next=base.fail_next if fail_next is None else fail_next,
            delay=base.delay if delay is None else delay,
            reject_ids=_reject_ids(base.reject_ids),
            store_then_fail=(
                base.store_then_fail if store_then_fail is None else store_then_fail
            ),
            store_then_hang=(
                base.store_then_hang if store_then_hang is None else store_then_hang
            ),
        )
        if reject_ids is not None:
            new = replace(new, reject_ids=_reject_ids(reject_ids))
        _check(new)
        with self._lock:
            self._plan = new
        return new

    def clear(self) -> None:
        """Back to a healthy LRS."""
        with self._lock:
            self._plan = FaultPlan()

    # -- helpers that change one part and keep the rest -------------------------
    def fail_next(
        self,
        count: int = 1,
        status: int = 503,
        message: str = "injected failure",
        *,
        methods: Iterable[str] = WRITE_METHODS,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``count`` requests with ``status``, storing nothing."""
        self._merge(
            fail_next=FailNext(count, status, message, _methods(methods), retry_after)
        )

    def delay(
        self,
        seconds: float,
        count: int | None = None,
        *,
        methods: Iterable[str] = WRITE_METHODS,
    ) -> None:
        """Sleep before each of the next ``count`` requests (None: every one)."""
        self._merge(delay=Delay(seconds, count, _methods(methods)))

    def reject_ids(self, *ids: str, reason: str = DEFAULT_REJECT_REASON) -> None:
        """Call these statement ids invalid (400 for any batch holding one)."""
        with self._lock:
            merged = {**self._plan.reject_ids, **{i.lower(): reason for i in ids}}
            self._plan = replace(self._plan, reject_ids=merged)

    def store_then_fail(
        self,
        count: int = 1,
        status: int = 500,
        message: str = "injected failure after storing",
    ) -> None:
        """Store the next ``count`` writes, then answer ``status``."""
        self._merge(store_then_fail=StoreThenFail(count, status, message))

    def store_then_hang(self, seconds: float, count: int = 1) -> None:
        """Store the next ``count`` writes, then sleep before answering."""
        self._merge(store_then_hang=StoreThenHang(seconds, count))

    # -- used by the app ---------------------------------------------------------
    def take_delay(self, method: str) -> float:
        """Seconds to sleep before this request (uses one ``delay``)."""
        with self._lock:
            delay = self._plan.delay
            if delay is None or method not in delay.methods:
                return 0.0
            if delay.count is not None:
                left = delay.count - 1
                self._plan = replace(
                    self._plan,
                    delay=replace(delay, count=left) if left > 0 else None,
                )
            return delay.seconds

    def take_failure(self, method: str) -> FailNext | None:
        """The injected failure for this request, if any (uses one)."""
        with self._lock:
            failure = self._plan.fail_next
            if failure is None or method not in failure.methods:
                return None
            left = failure.count - 1
            self._plan = replace(
                self._plan,
                fail_next=replace(failure, count=left) if left > 0 else None,
            )
            return failure

    def rejection(self, statement_id: str) -> str | None:
        """Why ``statement_id`` is called invalid, or None."""
        with self._lock:
            return self._plan.reject_ids.get(statement_id.lower())

    def take_after_store(self) -> tuple[float, StoreThenFail | None]:
        """After a write stored something: seconds to hang, failure to answer."""
        with self._lock:
            hang, fail = self._plan.store_then_hang, self._plan.store_then_fail
            plan = self._plan
            if hang is not None:
                plan = replace(
                    plan,
                    store_then_hang=(
                        replace(hang, count=hang.count - 1) if hang.count > 1 else None
                    ),
                )
            if fail is not None:
                plan = replace(
                    plan,
                    store_then_fail=(
                        replace(fail, count=fail.count - 1) if fail.count > 1 else None
                    ),
                )
            self._plan = plan
            return (hang.seconds if hang else 0.0), fail

    def _merge(self, **parts: Any) -> None:
        with self._lock:
            new = replace(self._plan, **parts)
            _check(new)
            self._plan = new


def _methods(methods: Iterable[str]) -> tuple[str, ...]:
    return tuple(m.upper() for m in methods)


def _part_json(
    part: FailNext | Delay | StoreThenFail | StoreThenHang | None,
) -> dict[str, Any] | None:
    if part is None:
        return None
    out = {f.name: getattr(part, f.name) for f in fields(part)}
    if "methods" in out:
        out["methods"] = list(out["methods"])
    return out


_Part = TypeVar("_Part", FailNext, Delay, StoreThenFail, StoreThenHang)


def _part(kind: type[_Part], data: object) -> _Part | None:
    """One fault from JSON, with its fields type-checked."""
    if data is None:
        return None
    name = kind.__name__
    if not isinstance(data, dict):
        raise FaultPlanError(f"{name} must be a JSON object or null")
    known = {f.name: f for f in fields(kind)}
    unknown = set(data) - set(known)
    if unknown:
        raise FaultPlanError(f"{name}: unknown field(s) {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "methods":
            if not isinstance(value, list) or not all(
                isinstance(m, str) for m in value
            ):
                raise FaultPlanError(f"{name}.methods must be a list of strings")
            values[key] = _methods(value)
        elif key == "message":
            if not isinstance(value, str):
                raise FaultPlanError(f"{name}.message must be a string")
            values[key] = value
        elif key == "seconds":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise FaultPlanError(f"{name}.seconds must be a number")
            values[key] = float(value)
        elif value is None and (
            key == "retry_after" or (kind is Delay and key == "count")
        ):
            values[key] = None
        elif isinstance(value, bool) or not isinstance(value, int):
            raise FaultPlanError(f"{name}.{key} must be an integer")
        else:
            values[key] = value
    try:
        part = kind(**values)
    except TypeError as error:
        raise FaultPlanError(f"{name}: {error}") from None
    return part


def _reject_ids(data: object) -> dict[str, str]:
    if data is None:
        return {}
    if isinstance(data, Mapping):
        items = list(data.items())
    elif isinstance(data, Iterable) and not isinstance(data, str | bytes):
        items = [(i, DEFAULT_REJECT_REASON) for i in data]
    else:
        raise FaultPlanError("reject_ids must be a list of ids or {id: reason}")
    if not all(isinstance(i, str) and isinstance(r, str) for i, r in items):
        raise FaultPlanError("reject_ids must hold strings")
    return {str(i).lower(): str(r) for i, r in items}


def _check(plan: FaultPlan) -> None:
    """Refuse plans that cannot be carried out."""
    for part in (plan.fail_next, plan.store_then_fail, plan.store_then_hang):
        if part is not None and part.count < 1:
            raise FaultPlanError(f"{type(part).__name__}.count must be at least 1")
    if plan.delay is not None and plan.delay.count is not None and plan.delay.count < 1:
        raise FaultPlanError("Delay.count must be at least 1 (or null for all)")
    for status_part in (plan.fail_next, plan.store_then_fail):
        if status_part is not None and not 400 <= status_part.status <= 599:
            raise FaultPlanError(
                f"{type(status_part).__name__}.status must be a 4xx or 5xx code"
            )
    for timed in (plan.delay, plan.store_then_hang):
        if timed is not None and not 0 <= timed.seconds <= 3600:
            raise FaultPlanError(f"{type(timed).__name__}.seconds must be 0..3600")
    for methods_part in (plan.fail_next, plan.delay):
        if methods_part is not None and (
            not methods_part.methods
            or not set(methods_part.methods) <= set(ALL_METHODS)
        ):
            raise FaultPlanError(
                f"{type(methods_part).__name__}.methods must be among GET, POST, PUT"
            )
