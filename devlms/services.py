"""Course data and in-memory state of the development LMS.

Holds the demo course, its users, placed resource links, AGS line items and
scores, issued access tokens, dynamically registered tools and the single-use
values (nonces, ``jti``s, message hints, deep-linking requests, registration
tokens) the platform must remember.  All state lives in one :class:`Store`
guarded by a lock; when a data directory is configured the gradebook, placed
links and registered tools are mirrored to ``state.json`` so a demo keeps them
across restarts.

AGS 2.0 / NRPS 2.0 request validation lives here too, as plain functions that
raise :class:`ServiceError`, so the Flask layer stays thin.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .tools import ToolRegistration, tool_from_json

LIS = "http://purl.imsglobal.org/vocab/lis/v2"
ROLE_LEARNER = f"{LIS}/membership#Learner"
ROLE_INSTRUCTOR = f"{LIS}/membership#Instructor"
ROLE_INSTITUTION_ADMIN = f"{LIS}/institution/person#Administrator"
ROLE_SYSTEM_ADMIN = f"{LIS}/system/person#Administrator"

COURSE_ID = "course-ccc-101"
COURSE_TITLE = "Contact Centre Careers 101"
COURSE_LABEL = "CCC101"
COURSE_TYPE = f"{LIS}/course#CourseOffering"

DEFAULT_LINK_ID = "rl-career-path"
DEFAULT_LINK_TITLE = "My career path (tierpath)"

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
)
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
ADVANTAGE_SCOPES = frozenset(
    {
        SCOPE_LINEITEM,
        SCOPE_LINEITEM_READONLY,
        SCOPE_RESULT_READONLY,
        SCOPE_SCORE,
        SCOPE_NRPS,
    }
)

ACTIVITY_PROGRESS = frozenset(
    {"Initialized", "Started", "InProgress", "Submitted", "Completed"}
)
GRADING_PROGRESS = frozenset(
    {"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}
)
# LTI Submission Review 1.0: statuses a line item's review may be offered for.
# "None" = also for learners without a score, "Any" = for every score.
REVIEWABLE_STATUS = frozenset({"None", "Any"}) | ACTIVITY_PROGRESS | GRADING_PROGRESS

# How long single-use values are remembered (longer than any token lifetime).
REPLAY_WINDOW_SECONDS = 3600
MESSAGE_HINT_TTL_SECONDS = 600
ACCESS_TOKEN_TTL_SECONDS = 3600


@dataclass(frozen=True)
class User:
    """A demo user; ``id`` is the login_hint, ``sub`` the LTI user id."""

    id: str
    given_name: str
    family_name: str
    email: str
    roles: tuple[str, ...]
    launches: bool = True

    @property
    def sub(self) -> str:
        return f"devlms-user-{self.id}"

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def is_instructor(self) -> bool:
        return ROLE_INSTRUCTOR in self.roles

    @property
    def is_admin(self) -> bool:
        return ROLE_INSTITUTION_ADMIN in self.roles or ROLE_SYSTEM_ADMIN in self.roles

    @property
    def is_learner(self) -> bool:
        return ROLE_LEARNER in self.roles

    @property
    def role_label(self) -> str:
        if self.is_instructor:
            return "Instructor"
        if ROLE_LEARNER in self.roles:
            return "Learner"
        return "Administrator"


USERS: dict[str, User] = {
    u.id: u
    for u in (
        User("learner1", "Ana", "Morales", "ana.morales@example.com", (ROLE_LEARNER,)),
        User("learner2", "Ben", "Okafor", "ben.okafor@example.com", (ROLE_LEARNER,)),
        User(
            "instructor",
            "Ines",
            "Duarte",
            "ines.duarte@example.com",
            (ROLE_INSTRUCTOR,),
        ),
        User(
            "admin",
            "Adam",
            "Reyes",
            "adam.reyes@example.com",
            (ROLE_INSTITUTION_ADMIN, ROLE_SYSTEM_ADMIN),
        ),
        User(
            "learner3",
            "Carla",
            "Nguyen",
            "carla.nguyen@example.com",
            (ROLE_LEARNER,),
            launches=False,
        ),
    )
}
USERS_BY_SUB: dict[str, User] = {u.sub: u for u in USERS.values()}
LAUNCHING_USERS: tuple[User, ...] = tuple(u for u in USERS.values() if u.launches)


class ServiceError(Exception):
    """A client error with an HTTP status and a plain message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class ResourceLink:
    """A placed LTI resource link in the course."""

    id: str
    title: str
    url: str
    custom: dict[str, str] = field(default_factory=dict)
    text: str = ""
    tool: str = ""  # client_id of the tool; '' = the built-in tool


@dataclass
class MessageHint:
    """What an opaque ``lti_message_hint`` stands for."""

    user_id: str
    message_type: str
    resource_link_id: str | None
    created: float
    client_id: str = ""
    storage_target: str | None = None  # lti_storage_target offered, if any
    lineitem_id: str | None = None  # submission review: the line item
    for_user: str | None = None  # submission review: the learner's user id


@dataclass
class DeepLinkRequest:
    """A deep-linking request we issued (looked up by its ``data`` value)."""

    nonce: str
    user_id: str
    created: float
    client_id: str = ""


@dataclass
class AccessToken:
    scopes: frozenset[str]
    expires_at: float
    client_id: str = ""


@dataclass
class PendingRegistration:
    """A Dynamic Registration started on devlms (one registration_token)."""

    id: str
    token: str
    created: float
    registration_url: str | None = None
    fault: str | None = None
    client_id: str | None = None  # set when the token was used
    resource_link_id: str | None = None  # the course link made for the tool

    def expired(self, ttl: float, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) - self.created >= ttl


def parse_timestamp(value: Any, what: str) -> datetime:
    """Parse an ISO 8601 timestamp that carries a UTC offset."""
    if not isinstance(value, str) or not value:
        raise ServiceError(f"{what} must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ServiceError(f"{what} is not a valid ISO 8601 timestamp") from exc
    if parsed.tzinfo is None:
        raise ServiceError(f"{what} must include a timezone offset")
    return parsed


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ServiceError(f"{what} must be a number")
    if not math.isfinite(value):
        raise ServiceError(f"{what} must be finite")
    return float(value)


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ServiceError(f"{key} must be a string")
    return value


def _absolute_url(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ServiceError(f"{what} must be a non-empty string")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServiceError(f"{what} must be an absolute http(s) URL")
    return value


def validate_submission_review(data: Any) -> dict[str, Any]:
    """Validate a line item's ``submissionReview`` (LTI Submission Review 1.0)."""
    if not isinstance(data, dict):
        raise ServiceError("submissionReview must be an object")
    review: dict[str, Any] = {}
    statuses = data.get("reviewableStatus")
    if statuses is not None:
        if not isinstance(statuses, list) or not all(
            isinstance(s, str) for s in statuses
        ):
            raise ServiceError(
                "submissionReview.reviewableStatus must be a list of strings"
            )
        unknown = [s for s in statuses if s not in REVIEWABLE_STATUS]
        if unknown:
            raise ServiceError(
                f"submissionReview.reviewableStatus has unknown value(s) {unknown};"
                " use None, Any or activityProgress/gradingProgress values"
            )
        review["reviewableStatus"] = list(statuses)
    label = _optional_str(data, "label")
    if label is not None:
        review["label"] = label
    if data.get("url") is not None:
        review["url"] = _absolute_url(data["url"], "submissionReview.url")
    custom = data.get("custom")
    if custom is not None:
        if not isinstance(custom, dict) or not all(
            isinstance(v, str) for v in custom.values()
        ):
            raise ServiceError(
                "submissionReview.custom must be an object with string values"
            )
        review["custom"] = {str(k): v for k, v in custom.items()}
    unknown_keys = sorted(set(data) - {"reviewableStatus", "label", "url", "custom"})
    if unknown_keys:
        raise ServiceError(f"submissionReview has unknown field(s) {unknown_keys}")
    return review


def is_reviewable(review: dict[str, Any], score: dict[str, Any] | None) -> bool:
    """Whether a learner's submission may be reviewed now.

    Without ``reviewableStatus`` (or with an empty list) every learner who has
    a score can be reviewed; ``None`` allows learners without a score.
    """
    statuses = review.get("reviewableStatus") or ["Any"]
    if score is None:
        return "None" in statuses
    return (
        "Any" in statuses
        or score.get("activityProgress") in statuses
        or score.get("gradingProgress") in statuses
    )


def check_review_url(tool: ToolRegistration, item: dict[str, Any]) -> None:
    """A line item's ``submissionReview.url`` must be on its tool's origin."""
    url = (item.get("submissionReview") or {}).get("url")
    if url is not None and not tool.is_tool_url(url):
        raise ServiceError("submissionReview.url must be on the tool's origin")


def validate_lineitem(data: Any) -> dict[str, Any]:
    """Validate an AGS line item body; return the stored fields."""
    if not isinstance(data, dict):
        raise ServiceError("line item body must be a JSON object")
    label = data.get("label")
    if not isinstance(label, str) or not label.strip():
        raise ServiceError("label is required and must be a non-empty string")
    if "scoreMaximum" not in data:
        raise ServiceError("scoreMaximum is required")
    score_max = _number(data["scoreMaximum"], "scoreMaximum")
    if score_max <= 0:
        raise ServiceError("scoreMaximum must be greater than 0")
    item: dict[str, Any] = {"label": label, "scoreMaximum": data["scoreMaximum"]}
    for key in ("resourceId", "resourceLinkId", "tag"):
        value = _optional_str(data, key)
        if value is not None:
            item[key] = value
    for key in ("startDateTime", "endDateTime"):
        if data.get(key) is not None:
            parse_timestamp(data[key], key)
            item[key] = data[key]
    if "gradesReleased" in data:
        if not isinstance(data["gradesReleased"], bool):
            raise ServiceError("gradesReleased must be a boolean")
        item["gradesReleased"] = data["gradesReleased"]
    if data.get("submissionReview") is not None:
        item["submissionReview"] = validate_submission_review(data["submissionReview"])
    return item


def validate_score(data: Any) -> dict[str, Any]:
    """Validate an AGS score body (application/vnd.ims.lis.v1.score+json)."""
    if not isinstance(data, dict):
        raise ServiceError("score body must be a JSON object")
    user_id = data.get("userId")
    if not isinstance(user_id, str) or not user_id:
        raise ServiceError("userId is required and must be a string")
    if user_id not in USERS_BY_SUB:
        raise ServiceError(f"userId {user_id!r} is not a member of {COURSE_ID}")
    if data.get("activityProgress") not in ACTIVITY_PROGRESS:
        raise ServiceError(
            "activityProgress is required and must be one of "
            + ", ".join(sorted(ACTIVITY_PROGRESS))
        )
    if data.get("gradingProgress") not in GRADING_PROGRESS:
        raise ServiceError(
            "gradingProgress is required and must be one of "
            + ", ".join(sorted(GRADING_PROGRESS))
        )
    if "timestamp" not in data:
        raise ServiceError("timestamp is required")
    parse_timestamp(data["timestamp"], "timestamp")
    score: dict[str, Any] = {
        "userId": user_id,
        "activityProgress": data["activityProgress"],
        "gradingProgress": data["gradingProgress"],
        "timestamp": data["timestamp"],
    }
    if data.get("scoreGiven") is not None:
        given = _number(data["scoreGiven"], "scoreGiven")
        if given < 0:
            raise ServiceError("scoreGiven must not be negative")
        if data.get("scoreMaximum") is None:
            raise ServiceError("scoreMaximum is required when scoreGiven is present")
        maximum = _number(data["scoreMaximum"], "scoreMaximum")
        if maximum <= 0:
            raise ServiceError("scoreMaximum must be greater than 0")
        score["scoreGiven"] = data["scoreGiven"]
        score["scoreMaximum"] = data["scoreMaximum"]
    elif data.get("scoreMaximum") is not None:
        score["scoreMaximum"] = _number(data["scoreMaximum"], "scoreMaximum")
    comment = _optional_str(data, "comment")
    if comment is not None:
        score["comment"] = comment
    submission = data.get("submission")
    if submission is not None:
        if not isinstance(submission, dict):
            raise ServiceError("submission must be an object")
        for key in ("startedAt", "submittedAt"):
            if submission.get(key) is not None:
                parse_timestamp(submission[key], f"submission.{key}")
        score["submission"] = submission
    return score


def parse_paging(args: dict[str, str]) -> tuple[int | None, int]:
    """Return (limit, page) from query arguments; page is 1-based."""
    limit: int | None = None
    page = 1
    try:
        if args.get("limit"):
            limit = int(args["limit"])
            if limit < 1:
                raise ServiceError("limit must be a positive integer")
        if args.get("page"):
            page = int(args["page"])
            if page < 1:
                raise ServiceError("page must be a positive integer")
    except ValueError as exc:
        raise ServiceError("limit and page must be integers") from exc
    return limit, page


def paginate(items: list[Any], limit: int | None, page: int) -> tuple[list[Any], bool]:
    """Slice one page; return (page items, has_next)."""
    if limit is None:
        return items, False
    start = (page - 1) * limit
    return items[start : start + limit], start + limit < len(items)


def role_matches(roles: tuple[str, ...], wanted: str) -> bool:
    """NRPS ``role`` filter: full URI, or a short name such as ``Learner``."""
    return any(role == wanted or role.rsplit("#", 1)[-1] == wanted for role in roles)


class Store:
    """All mutable platform state, thread-safe, optionally mirrored to disk."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self._lock = threading.RLock()
        self._state_file = data_dir / "state.json" if data_dir else None
        self.links: dict[str, ResourceLink] = {}
        self.lineitems: dict[str, dict[str, Any]] = {}
        self.scores: dict[str, dict[str, dict[str, Any]]] = {}
        self.next_lineitem = 1
        self.tokens: dict[str, AccessToken] = {}
        self.token_requests = 0
        self.tokens_issued = 0
        self.ignored_scores = 0
        self.hints: dict[str, MessageHint] = {}
        self.dl_requests: dict[str, DeepLinkRequest] = {}
        self.tools: dict[str, ToolRegistration] = {}
        self.lineitem_owners: dict[str, str] = {}
        self.registrations: dict[str, PendingRegistration] = {}
        self._seen: dict[str, dict[str, float]] = {}
        self._reset_course()
        self._load()

    # -- persistence -------------------------------------------------------
    def _reset_course(self) -> None:
        self.links = {
            DEFAULT_LINK_ID: ResourceLink(DEFAULT_LINK_ID, DEFAULT_LINK_TITLE, "")
        }

    def _load(self) -> None:
        if not self._state_file or not self._state_file.exists():
            return
        data = json.loads(self._state_file.read_text(encoding="utf-8"))
        self.links = {
            item["id"]: ResourceLink(**item) for item in data.get("links", [])
        } or self.links
        self.lineitems = {str(k): v for k, v in data.get("lineitems", {}).items()}
        self.scores = data.get("scores", {})
        self.next_lineitem = int(data.get("next_lineitem", 1))
        self.tools = {
            tool["client_id"]: tool_from_json(tool) for tool in data.get("tools", [])
        }
        self.lineitem_owners = {
            str(k): str(v) for k, v in data.get("lineitem_owners", {}).items()
        }

    def save(self) -> None:
        """Mirror the gradebook and links to ``state.json`` (if configured)."""
        if not self._state_file:
            return
        with self._lock:
            data = {
                "links": [asdict(link) for link in self.links.values()],
                "lineitems": self.lineitems,
                "scores": self.scores,
                "next_lineitem": self.next_lineitem,
                "tools": [asdict(tool) for tool in self.tools.values()],
                "lineitem_owners": self.lineitem_owners,
            }
            tmp = self._state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
            os.replace(tmp, self._state_file)

    # -- single-use values -------------------------------------------------
    def consume_once(
        self, kind: str, value: str, ttl: float = REPLAY_WINDOW_SECONDS
    ) -> bool:
        """Record ``value`` for ``kind``; False if it was already seen."""
        now = time.time()
        with self._lock:
            seen = self._seen.setdefault(kind, {})
            for key in [k for k, exp in seen.items() if exp < now]:
                del seen[key]
            if value in seen:
                return False
            seen[value] = now + ttl
            return True

    def new_hint(self, hint: MessageHint) -> str:
        key = secrets.token_urlsafe(24)
        with self._lock:
            now = time.time()
            for k in [
                k
                for k, h in self.hints.items()
                if now - h.created > MESSAGE_HINT_TTL_SECONDS
            ]:
                del self.hints[k]
            self.hints[key] = hint
        return key

    def get_hint(self, key: str) -> MessageHint | None:
        with self._lock:
            hint = self.hints.get(key)
        if hint is None or time.time() - hint.created > MESSAGE_HINT_TTL_SECONDS:
            return None
        return hint

    def new_dl_request(self, nonce: str, user_id: str, client_id: str = "") -> str:
        data = "dl-" + secrets.token_urlsafe(24)
        with self._lock:
            self.dl_requests[data] = DeepLinkRequest(
                nonce, user_id, time.time(), client_id
            )
        return data

    def pop_dl_request(self, data: str) -> DeepLinkRequest | None:
        with self._lock:
            request = self.dl_requests.pop(data, None)
        if request is None or time.time() - request.created > REPLAY_WINDOW_SECONDS:
            return None
        return request

    # -- tokens ------------------------------------------------------------
    def count_token_request(self) -> None:
        with self._lock:
            self.token_requests += 1

    def add_token(
        self, token: str, scopes: frozenset[str], client_id: str = ""
    ) -> None:
        with self._lock:
            self.tokens_issued += 1
            self.tokens[token] = AccessToken(
                scopes, time.time() + ACCESS_TOKEN_TTL_SECONDS, client_id
            )

    def token_entry(self, token: str) -> AccessToken | None:
        with self._lock:
            entry = self.tokens.get(token)
        if entry is None or entry.expires_at < time.time():
            return None
        return entry

    def token_scopes(self, token: str) -> frozenset[str] | None:
        entry = self.token_entry(token)
        return entry.scopes if entry else None

    # -- dynamically registered tools --------------------------------------
    def list_tools(self) -> list[ToolRegistration]:
        with self._lock:
            return list(self.tools.values())

    def get_tool(self, client_id: str) -> ToolRegistration | None:
        with self._lock:
            return self.tools.get(client_id)

    def new_registration(
        self, registration_url: str | None = None, fault: str | None = None
    ) -> PendingRegistration:
        pending = PendingRegistration(
            id="reg-" + secrets.token_hex(8),
            token=secrets.token_urlsafe(32),
            created=time.time(),
            registration_url=registration_url,
            fault=fault,
        )
        with self._lock:
            self.registrations[pending.id] = pending
        return pending

    def get_registration(self, registration_id: str) -> PendingRegistration | None:
        with self._lock:
            return self.registrations.get(registration_id)

    def check_registration_token(self, token: str, ttl: float) -> PendingRegistration:
        """The pending registration of an unused, unexpired token (else 401)."""
        with self._lock:
            pending = next(
                (
                    r
                    for r in self.registrations.values()
                    if secrets.compare_digest(r.token, token)
                ),
                None,
            )
            if pending is None:
                raise ServiceError("unknown registration token", 401)
            if pending.client_id is not None:
                raise ServiceError("registration token was already used", 401)
            if pending.expired(ttl):
                raise ServiceError("registration token has expired", 401)
            return pending

    def complete_registration(
        self, token: str, ttl: float, tool: ToolRegistration, link: ResourceLink
    ) -> PendingRegistration:
        """Use the token once: add the tool and its course link atomically."""
        with self._lock:
            pending = self.check_registration_token(token, ttl)
            pending.client_id = tool.client_id
            pending.resource_link_id = link.id
            self.tools[tool.client_id] = tool
            self.links[link.id] = link
        self.save()
        return pending

    # -- links -------------------------------------------------------------
    def add_link(self, link: ResourceLink) -> None:
        with self._lock:
            self.links[link.id] = link
        self.save()

    # -- line items --------------------------------------------------------
    def list_lineitems(
        self,
        resource_link_id: str | None = None,
        resource_id: str | None = None,
        tag: str | None = None,
    ) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            items = list(self.lineitems.items())
        out = []
        for item_id, item in items:
            if (
                resource_link_id is not None
                and item.get("resourceLinkId") != resource_link_id
            ):
                continue
            if resource_id is not None and item.get("resourceId") != resource_id:
                continue
            if tag is not None and item.get("tag") != tag:
                continue
            out.append((item_id, item))
        return out

    def create_lineitem(self, item: dict[str, Any], owner: str = "") -> str:
        """Store a line item; ``owner`` is the client_id of the creating tool."""
        with self._lock:
            item_id = str(self.next_lineitem)
            self.next_lineitem += 1
            self.lineitems[item_id] = item
            self.scores[item_id] = {}
            if owner:
                self.lineitem_owners[item_id] = owner
        self.save()
        return item_id

    def lineitem_owner(self, item_id: str) -> str:
        with self._lock:
            return self.lineitem_owners.get(item_id, "")

    def get_lineitem(self, item_id: str) -> dict[str, Any]:
        with self._lock:
            item = self.lineitems.get(item_id)
        if item is None:
            raise ServiceError(f"line item {item_id} not found", 404)
        return item

    def update_lineitem(self, item_id: str, item: dict[str, Any]) -> None:
        with self._lock:
            self.get_lineitem(item_id)
            self.lineitems[item_id] = item
        self.save()

    def delete_lineitem(self, item_id: str) -> None:
        with self._lock:
            self.get_lineitem(item_id)
            del self.lineitems[item_id]
            self.scores.pop(item_id, None)
            self.lineitem_owners.pop(item_id, None)
        self.save()

    def put_score(self, item_id: str, score: dict[str, Any]) -> bool:
        """Store a score; False if ignored because it is older than the stored one."""
        with self._lock:
            self.get_lineitem(item_id)
            per_user = self.scores.setdefault(item_id, {})
            previous = per_user.get(score["userId"])
            if previous is not None:
                old = parse_timestamp(previous["timestamp"], "timestamp")
                new = parse_timestamp(score["timestamp"], "timestamp")
                if new < old:
                    self.ignored_scores += 1
                    return False
            per_user[score["userId"]] = score
        self.save()
        return True

    def scores_for(self, item_id: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            self.get_lineitem(item_id)
            return dict(self.scores.get(item_id, {}))
