"""The gradebook poster against a scripted AGS platform (a requests adapter).

Over-the-wire behaviour with the real development LMS is in
tests/e2e/test_rotations_e2e.py; here the platform misbehaves on cue: 429,
503, a connection error, 401 with a stale token, a deleted line item, a
refusal; paged line-item lists; several learners' scores in order.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from requests.adapters import BaseAdapter

from lti_tool.ags_delivery import ScorePoster
from lti_tool.db.models import LineItemLink, Platform, ScorePassback
from lti_tool.http import TimeoutSession
from lti_tool.runtime import runtime
from lti_tool.services.platforms import PlatformInput
from lti_tool.services.score_passback import resend_dead
from tests.conftest import FakeClock
from tests.support.platform import register_platform

LMS = "https://lms.example"
LINEITEMS = f"{LMS}/api/Course/7/lineitems"
SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
]


class FakeAgs(BaseAdapter):
    """Token, line items (paged, case-sensitive URLs) and scores, with scripted faults."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[dict[str, Any]] = []
        self.scores: list[tuple[str, dict[str, Any]]] = []  # (line item, score)
        self.faults: list[int | str] = []  # next statuses for score posts
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.page_size = 2
        self.calls: list[str] = []

    def _reply(
        self,
        request: requests.PreparedRequest,
        status: int,
        body: Any = None,
        **headers: str,
    ) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response.url = request.url or ""
        response.request = request
        response.headers["Content-Type"] = "application/json"
        response.headers.update(headers)
        response._content = json.dumps(body).encode() if body is not None else b""
        return response

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        assert timeout is not None, "every outbound call needs a timeout"
        url = request.url or ""
        self.calls.append(f"{request.method} {url}")
        if url == f"{LMS}/token":
            self.tokens_issued += 1
            token = f"token-{self.tokens_issued}"
            self.valid_tokens.add(token)
            return self._reply(
                request, 200, {"access_token": token, "expires_in": 3600}
            )
        auth = request.headers.get("Authorization", "")
        if auth.removeprefix("Bearer ") not in self.valid_tokens:
            return self._reply(request, 401, {"error": "invalid_token"})
        parts = urlsplit(url)
        if request.method == "GET" and parts.path.endswith("/lineitems"):
            page = int(parse_qs(parts.query).get("page", ["0"])[0])
            chunk = self.items[page * self.page_size : (page + 1) * self.page_size]
            headers = {}
            if (page + 1) * self.page_size < len(self.items):
                # Mixed case on purpose: pylti1p3 lower-cases next links.
                headers["Link"] = f'<{LINEITEMS}?page={page + 1}>; rel="next"'
            return self._reply(request, 200, chunk, **headers)
        if request.method == "POST" and parts.path.endswith("/lineitems"):
            body = json.loads(request.body or b"{}")
            item = {**body, "id": f"{LINEITEMS}/{len(self.items) + 1}"}
            self.items.append(item)
            return self._reply(request, 201, item)
        if request.method == "POST" and parts.path.endswith("/scores"):
            item_url = url.rsplit("/scores", 1)[0]
            if not any(i["id"] == item_url for i in self.items):
                return self._reply(request, 404, {"error": "no such line item"})
            if self.faults:
                fault = self.faults.pop(0)
                if fault == "connection":
                    raise requests.ConnectionError("connection refused")
                assert isinstance(fault, int)
                return self._reply(request, fault, {"error": f"status {fault}"})
            self.scores.append((item_url, json.loads(request.body or b"{}")))
            return self._reply(request, 200, {})
        return self._reply(request, 404, {"error": "unknown"})


@pytest.fixture
def lms(app: Flask) -> FakeAgs:
    register_platform(
        app,
        PlatformInput(
            issuer=LMS,
            client_id="client-1",
            deployment_ids=("d1",),
            auth_login_url=f"{LMS}/auth",
            token_url=f"{LMS}/token",
            jwks_url=f"{LMS}/jwks",
        ),
    )
    return FakeAgs()


def _platform_id(app: Flask) -> int:
    with runtime(app).session_factory() as session:
        found = session.scalar(sa.select(Platform.id).where(Platform.issuer == LMS))
    assert found is not None
    return int(found)


def _queue(
    app: Flask, user: str, score: float, *, resource: str = "step/t1/rotation/reporting"
) -> None:
    rt = runtime(app)
    now = rt.clock()
    with rt.session_factory() as session:
        session.add(
            ScorePassback(
                platform_id=_platform_id(app),
                lineitems_url=LINEITEMS,
                scopes=SCOPES,
                line_item={
                    "resourceId": resource,
                    "tag": "rotation",
                    "label": "Job rotation: Reporting",
                    "scoreMaximum": 9,
                },
                user_sub=user,
                payload={
                    "scoreGiven": score,
                    "scoreMaximum": 9,
                    "activityProgress": "Completed",
                    "gradingProgress": "FullyGraded",
                    "timestamp": now.isoformat(timespec="microseconds"),
                },
                source=f"grade:{user}:{score}",
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        session.commit()


def _poster(app: Flask, lms: FakeAgs) -> ScorePoster:
    http = TimeoutSession((1.0, 2.0))
    http.mount(LMS, lms)
    return ScorePoster(runtime(app), http=http, rng=random.Random(7))


def _rows(app: Flask) -> list[ScorePassback]:
    with runtime(app).session_factory() as session:
        return list(
            session.scalars(sa.select(ScorePassback).order_by(ScorePassback.id))
        )


def test_scores_post_once_to_one_line_item_with_one_token(
    app: Flask, lms: FakeAgs
) -> None:
    for n, user in enumerate(("u1", "u2", "u3")):
        _queue(app, user, 5 + n)
    report = _poster(app, lms).run_once()
    assert report.sent == 3
    assert len(lms.items) == 1
    assert [score["userId"] for _, score in lms.scores] == ["u1", "u2", "u3"]
    assert lms.tokens_issued == 1
    assert {r.status for r in _rows(app)} == {"sent"}


def test_an_existing_line_item_is_found_across_pages_by_resource_id_and_tag(
    app: Flask, lms: FakeAgs
) -> None:
    lms.items = [
        {"id": f"{LINEITEMS}/1", "resourceId": "other", "tag": "rotation"},
        {
            "id": f"{LINEITEMS}/2",
            "resourceId": "step/t1/rotation/reporting",
            "tag": "pre-test",
        },
        {"id": f"{LINEITEMS}/3", "resourceId": "x", "tag": "y"},
        {
            "id": f"{LINEITEMS}/Mixed-Case-4",
            "resourceId": "step/t1/rotation/reporting",
            "tag": "rotation",
        },
    ]
    _queue(app, "u1", 7)
    assert _poster(app, lms).run_once().sent == 1
    assert lms.scores[0][0] == f"{LINEITEMS}/Mixed-Case-4"
    assert len(lms.items) == 4  # nothing created
    assert f"GET {LINEITEMS}?page=1" in lms.calls


@pytest.mark.parametrize("fault", [429, 503, 500, "connection"])
def test_busy_or_failing_lms_is_retried_with_backoff_and_nothing_is_lost(
    app: Flask, lms: FakeAgs, clock: FakeClock, fault: int | str
) -> None:
    _queue(app, "u1", 7)
    lms.faults = [fault, fault]
    poster = _poster(app, lms)
    first = poster.run_once()
    assert first.retried == 1
    (row,) = _rows(app)
    assert row.status == "pending"
    assert row.next_attempt_at > clock()  # backoff: not due again at once
    assert poster.run_once().claimed == 0
    clock.advance(hours=2)
    poster.run_once()
    clock.advance(hours=2)
    assert poster.run_once().sent == 1
    assert len(lms.scores) == 1


def test_a_refused_score_goes_dead_with_the_lms_message_and_can_be_resent(
    app: Flask, lms: FakeAgs, clock: FakeClock
) -> None:
    _queue(app, "u1", 7)
    lms.faults = [400]
    assert _poster(app, lms).run_once().dead == 1
    (row,) = _rows(app)
    assert row.status == "dead"
    assert row.last_status == 400
    assert "status 400" in (row.last_error or "")
    with runtime(app).session_factory() as session:
        assert resend_dead(session, clock()) == 1
        session.commit()
    assert _poster(app, lms).run_once().sent == 1


def test_retries_stop_after_the_give_up_time(
    app: Flask, lms: FakeAgs, clock: FakeClock
) -> None:
    _queue(app, "u1", 7)
    lms.faults = [503] * 100
    poster = _poster(app, lms)
    for _ in range(40):
        poster.run_once()
        clock.advance(hours=3)
    (row,) = _rows(app)
    assert row.status == "dead"
    assert row.attempts > 1


def test_a_stale_token_is_dropped_and_the_score_retried(
    app: Flask, lms: FakeAgs, clock: FakeClock
) -> None:
    _queue(app, "u1", 7)
    poster = _poster(app, lms)
    assert poster.run_once().sent == 1
    lms.valid_tokens.clear()  # the LMS revoked every token
    _queue(app, "u1", 8)
    assert poster.run_once().retried == 1
    clock.advance(hours=1)
    assert poster.run_once().sent == 1
    assert lms.tokens_issued == 2


def test_a_line_item_deleted_in_the_lms_is_created_again(
    app: Flask, lms: FakeAgs
) -> None:
    _queue(app, "u1", 7)
    poster = _poster(app, lms)
    poster.run_once()
    lms.items.clear()  # an instructor deleted the column
    _queue(app, "u1", 8)
    assert poster.run_once().sent == 1
    assert len(lms.items) == 1
    with runtime(app).session_factory() as session:
        links = session.scalars(sa.select(LineItemLink.url)).all()
    assert links == [lms.items[0]["id"]]


def test_one_learners_scores_go_in_order_even_when_the_first_is_retried(
    app: Flask, lms: FakeAgs, clock: FakeClock
) -> None:
    _queue(app, "u1", 3)  # submitted, then regraded: order matters
    _queue(app, "u1", 9)
    _queue(app, "u2", 5)
    lms.faults = [503]
    poster = _poster(app, lms)
    report = poster.run_once()
    # u1's first score failed; u1's second waits behind it, u2 is not held up.
    assert report.retried == 1
    assert [score["userId"] for _, score in lms.scores] == ["u2"]
    clock.advance(hours=1)
    poster.run_once()
    assert [(s["userId"], s["scoreGiven"]) for _, s in lms.scores] == [
        ("u2", 5),
        ("u1", 3),
        ("u1", 9),
    ]


def test_a_killed_posters_claim_lapses_and_another_posts_the_score(
    app: Flask, lms: FakeAgs, clock: FakeClock
) -> None:
    from lti_tool.services.score_passback import claim_due

    _queue(app, "u1", 7)
    rt = runtime(app)
    claimed = claim_due(
        rt.session_factory, "dead-worker", clock(), timedelta(seconds=120), 10
    )
    assert len(claimed) == 1
    poster = _poster(app, lms)
    assert poster.run_once().claimed == 0  # still leased
    clock.advance(seconds=121)
    assert poster.run_once().sent == 1


def test_cli_lists_the_queue_and_resends_dead_scores(app: Flask, lms: FakeAgs) -> None:
    _queue(app, "u1", 7)
    lms.faults = [400]
    _poster(app, lms).run_once()
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["ags", "list"])
    assert listed.exit_code == 0, listed.output
    assert "0 pending, 0 sent, 1 dead" in listed.output
    assert "status 400" in listed.output
    resent = runner.invoke(args=["ags", "resend"])
    assert "1 score queued again" in resent.output
    assert [r.status for r in _rows(app)] == ["pending"]
