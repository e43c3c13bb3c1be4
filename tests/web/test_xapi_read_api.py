"""Readers with their own key and secret can query the local statement store like an LRS."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from ralph.models.xapi.base.statements import (  # type: ignore[import-untyped, unused-ignore]
    BaseXapiStatement,
)
from werkzeug.test import TestResponse

from lti_tool.db.models import StoredStatement, XapiReadClient
from lti_tool.runtime import runtime
from lti_tool.services import xapi_clients
from tests.conftest import TOOL_ORIGIN, FakeClock
from xapi.identity import agent_key
from xapi.statements import Learner, ProgramContext, tier_started_statement, to_json
from xapi.vocabulary import PROFILE, Verb

VERSION = {"X-Experience-API-Version": "1.0.3"}
ANA = {
    "objectType": "Agent",
    "account": {"homePage": "https://lms.test", "name": "ana"},
}
BO = {"objectType": "Agent", "account": {"homePage": "https://lms.test", "name": "bo"}}
MODULE = "https://tool.test/programs/step/modules/m1"
OTHER_MODULE = "https://tool.test/programs/step/modules/m2"
REGISTRATION = "3b241101-e2bb-4255-8caf-4136c566a962"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def app(make_app) -> Flask:  # type: ignore[no-untyped-def]
    return make_app(BASE_URL=TOOL_ORIGIN)  # type: ignore[no-any-return]


class Reader:
    """A read client's credentials and a way to call the API with them."""

    def __init__(self, client: FlaskClient, key: str, secret: str) -> None:
        self.client = client
        self.key = key
        self.secret = secret

    def headers(self, **extra: str) -> dict[str, str]:
        token = base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
        return {"Authorization": f"Basic {token}", **VERSION, **extra}

    def get(self, url: str = "/xapi/statements", **params: str) -> TestResponse:
        return self.client.get(url, query_string=params or None, headers=self.headers())

    def page(self, **params: str) -> dict[str, Any]:
        response = self.get(**params)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert isinstance(body, dict)
        return body

    def ids(self, **params: str) -> list[str]:
        return [s["id"] for s in self.page(**params)["statements"]]


def add_reader(app: Flask, name: str = "dashboard") -> tuple[str, str]:
    rt = runtime(app)
    with rt.session_factory() as session:
        created = xapi_clients.create_client(session, name, rt.clock())
        session.commit()
        return created.client.key, created.secret


@pytest.fixture
def reader(app: Flask, client: FlaskClient) -> Reader:
    key, secret = add_reader(app)
    return Reader(client, key, secret)


def payload(
    *,
    actor: dict[str, Any] = ANA,
    verb: str = Verb.COMPLETED,
    activity: str = MODULE,
    registration: str = REGISTRATION,
    timestamp: datetime = T0,
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": actor,
        "verb": {"id": verb, "display": {"en-US": Verb.DISPLAY[verb]}},
        "object": {
            "objectType": "Activity",
            "id": activity,
            "definition": {"name": {"en": "Module"}},
        },
        "context": {"registration": registration},
        "timestamp": timestamp.isoformat(),
    }


def store(
    app: Flask, *payloads: dict[str, Any], stored: datetime = T0, voided: bool = False
) -> list[str]:
    """Insert statements as the recorder would, all with the same `stored`."""
    with runtime(app).session_factory() as session:
        for p in payloads:
            session.add(
                StoredStatement(
                    id=p["id"],
                    source="test",
                    agent=agent_key(p["actor"]),
                    verb=p["verb"]["id"],
                    activity=p["object"]["id"],
                    registration=p.get("context", {}).get("registration"),
                    timestamp=datetime.fromisoformat(p["timestamp"]),
                    stored=stored,
                    voided=voided,
                    payload=p,
                )
            )
        session.commit()
    return [p["id"] for p in payloads]


# --- about, credentials, version header ----------------------------------------


def test_about_needs_no_credentials_and_names_the_version(client: FlaskClient) -> None:
    response = client.get("/xapi/about")
    assert response.status_code == 200
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    body = response.get_json()
    assert body["version"] == ["1.0.3"]
    assert PROFILE in body["extensions"].values()


def test_statements_without_credentials_are_refused_with_a_basic_challenge(
    client: FlaskClient,
) -> None:
    response = client.get("/xapi/statements", headers=VERSION)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="tierpath xAPI"'
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert "HTTP Basic" in response.get_json()["error"]


def test_a_wrong_secret_or_unknown_key_is_refused(reader: Reader) -> None:
    for key, secret in ((reader.key, "guess"), ("nobody", reader.secret)):
        impostor = Reader(reader.client, key, secret)
        response = impostor.get()
        assert response.status_code == 401
        assert "wrong" in response.get_json()["error"]
        assert "WWW-Authenticate" in response.headers


def test_a_bearer_token_is_not_accepted(reader: Reader) -> None:
    response = reader.client.get(
        "/xapi/statements", headers={"Authorization": "Bearer x", **VERSION}
    )
    assert response.status_code == 401


def test_a_revoked_client_is_refused(app: Flask, reader: Reader) -> None:
    assert reader.get().status_code == 200
    with runtime(app).session_factory() as session:
        xapi_clients.revoke_client(session, "dashboard", runtime(app).clock())
        session.commit()
    response = reader.get()
    assert response.status_code == 401
    assert "revoked" in response.get_json()["error"]


def test_the_version_header_is_required(reader: Reader) -> None:
    headers = reader.headers()
    del headers["X-Experience-API-Version"]
    response = reader.client.get("/xapi/statements", headers=headers)
    assert response.status_code == 400
    assert "X-Experience-API-Version is required" in response.get_json()["error"]
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


@pytest.mark.parametrize(
    ("sent", "status"),
    [("1.0", 200), ("1.0.1", 200), ("2.0.0", 200), ("0.95", 400), ("1.1.0", 400)],
)
def test_version_1_0_and_2_0_clients_are_served(
    reader: Reader, sent: str, status: int
) -> None:
    response = reader.client.get(
        "/xapi/statements", headers=reader.headers(**{"X-Experience-API-Version": sent})
    )
    assert response.status_code == status


def test_last_used_is_written_at_most_once_a_minute(
    app: Flask, reader: Reader, clock: FakeClock
) -> None:
    def last_used() -> datetime | None:
        with runtime(app).session_factory() as session:
            client = session.scalars(sa.select(XapiReadClient)).one()
            return client.last_used_at

    assert last_used() is None
    first = clock.now
    reader.get()
    assert last_used() == first
    clock.advance(seconds=30)
    reader.get()
    assert last_used() == first
    clock.advance(seconds=31)
    reader.get()
    assert last_used() == clock.now


def test_writes_are_refused_in_json(reader: Reader) -> None:
    response = reader.client.post("/xapi/statements", json=[], headers=reader.headers())
    assert response.status_code == 405
    assert "read-only" in response.get_json()["error"]
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


def test_other_xapi_resources_answer_404_in_json(reader: Reader) -> None:
    response = reader.get("/xapi/activities/state")
    assert response.status_code == 404
    assert response.is_json


# --- one statement -----------------------------------------------------------------


def test_statement_id_returns_the_statement_as_an_lrs_would(
    app: Flask, reader: Reader, clock: FakeClock
) -> None:
    learner = Learner("https://lms.test", "ana")
    ctx = ProgramContext(
        base=TOOL_ORIGIN,
        registration=REGISTRATION,
        program_id="step",
        program_title="STEP",
        program_version="2025.1",
        tier_id="t1",
        tier_title="Tier 1",
    )
    recorded = to_json(
        tier_started_statement(
            learner=learner, ctx=ctx, reason="eligible", timestamp=T0
        )
    )
    (sid,) = store(app, recorded, stored=T0 + timedelta(microseconds=1500))
    response = reader.get(statementId=sid)
    assert response.status_code == 200
    served = response.get_json()
    assert served["id"] == sid
    assert served["stored"] == "2025-03-01T09:00:00.001500Z"
    assert served["version"] == "1.0.3"
    assert served["authority"] == {
        "objectType": "Agent",
        "account": {"homePage": TOOL_ORIGIN, "name": "tierpath"},
    }
    BaseXapiStatement(**served)  # an independent validator accepts it
    assert response.headers["X-Experience-API-Consistent-Through"] == (
        clock.now.isoformat(timespec="microseconds").replace("+00:00", "Z")
    )
    assert response.headers["Last-Modified"]


def test_an_unknown_statement_id_is_404(reader: Reader) -> None:
    response = reader.get(statementId=str(uuid.uuid4()))
    assert response.status_code == 404
    assert "no statement with id" in response.get_json()["error"]


def test_a_voided_statement_is_found_only_by_voided_statement_id(
    app: Flask, reader: Reader
) -> None:
    (voided,) = store(app, payload(), voided=True)
    (live,) = store(app, payload())
    assert reader.get(statementId=voided).status_code == 404
    assert reader.get(voidedStatementId=voided).get_json()["id"] == voided
    assert reader.get(voidedStatementId=live).status_code == 404
    assert reader.ids() == [live]


def test_statement_id_with_a_filter_is_refused(reader: Reader) -> None:
    response = reader.get(statementId=str(uuid.uuid4()), verb=Verb.PASSED)
    assert response.status_code == 400
    assert "cannot be combined with verb" in response.get_json()["error"]


def test_format_ids_reduces_the_statement(app: Flask, reader: Reader) -> None:
    (sid,) = store(app, payload(actor={**ANA, "name": "Ana Morales"}))
    served = reader.get(statementId=sid, format="ids").get_json()
    assert served["actor"] == ANA
    assert served["verb"] == {"id": Verb.COMPLETED}
    assert served["object"] == {"objectType": "Activity", "id": MODULE}
    listed = reader.page(format="ids")["statements"][0]
    assert listed["object"] == {"objectType": "Activity", "id": MODULE}


# --- lists -------------------------------------------------------------------------


def test_an_empty_store_gives_an_empty_list(reader: Reader) -> None:
    response = reader.get()
    assert response.get_json() == {"statements": [], "more": ""}
    assert "X-Experience-API-Consistent-Through" in response.headers


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"agent": json.dumps(BO)}, "bo"),
        ({"verb": Verb.PASSED}, "passed"),
        ({"activity": OTHER_MODULE}, "other module"),
        ({"registration": "00000000-0000-4000-8000-000000000001"}, "other enrolment"),
    ],
)
def test_each_filter_selects_its_statements(
    app: Flask, reader: Reader, params: dict[str, str], expected: str
) -> None:
    ids = {
        "plain": store(app, payload())[0],
        "bo": store(app, payload(actor=BO))[0],
        "passed": store(app, payload(verb=Verb.PASSED))[0],
        "other module": store(app, payload(activity=OTHER_MODULE))[0],
        "other enrolment": store(
            app, payload(registration="00000000-0000-4000-8000-000000000001")
        )[0],
    }
    assert reader.ids(**params) == [ids[expected]]
    assert len(reader.ids()) == 5


def test_filters_combine(app: Flask, reader: Reader) -> None:
    (wanted,) = store(app, payload(actor=BO, verb=Verb.PASSED))
    store(app, payload(actor=BO), payload(verb=Verb.PASSED))
    assert reader.ids(agent=json.dumps(BO), verb=Verb.PASSED) == [wanted]


def test_since_is_exclusive_and_until_inclusive_on_stored(
    app: Flask, reader: Reader
) -> None:
    at = [T0 + timedelta(minutes=m) for m in range(3)]
    ids = [store(app, payload(), stored=moment)[0] for moment in at]
    assert reader.ids(since=at[0].isoformat()) == [ids[2], ids[1]]
    assert reader.ids(until=at[1].isoformat()) == [ids[1], ids[0]]
    assert reader.ids(since=at[0].isoformat(), until=at[1].isoformat()) == [ids[1]]
    in_paris = at[1].astimezone(datetime.fromisoformat("2025-01-01T00:00+01:00").tzinfo)
    assert reader.ids(since=in_paris.isoformat()) == [ids[2]]


def test_newest_first_by_default_and_oldest_first_when_ascending(
    app: Flask, reader: Reader
) -> None:
    older = store(app, payload(), payload(), stored=T0)
    newer = store(app, payload(), stored=T0 + timedelta(seconds=1))
    assert reader.ids() == [newer[0], older[1], older[0]]
    assert reader.ids(ascending="true") == [older[0], older[1], newer[0]]


def test_limit_cuts_the_page_and_offers_more(app: Flask, reader: Reader) -> None:
    ids = store(app, *(payload() for _ in range(5)))
    body = reader.page(limit="2")
    assert [s["id"] for s in body["statements"]] == [ids[4], ids[3]]
    assert body["more"].startswith("/xapi/statements?cursor=")


def test_bad_parameters_are_400_with_a_reason(reader: Reader) -> None:
    for params, says in (
        ({"verbs": Verb.PASSED}, "unknown parameter: verbs"),
        ({"agent": "{not json"}, "agent must be a JSON object"),
        ({"agent": '{"name": "Ana"}'}, "exactly one of mbox"),
        ({"limit": "-1"}, "limit must be a whole number"),
        ({"since": "2025-03-01T09:00:00"}, "needs a timezone"),
        ({"ascending": "yes"}, "ascending must be true or false"),
        ({"registration": "7"}, "registration must be a UUID"),
        ({"attachments": "true"}, "attachments are not served"),
        ({"related_agents": "true"}, "not supported"),
    ):
        response = reader.get(**params)
        assert response.status_code == 400, params
        assert says in response.get_json()["error"]


def test_a_repeated_parameter_is_400(reader: Reader) -> None:
    response = reader.client.get(
        "/xapi/statements?verb=a:b&verb=c:d", headers=reader.headers()
    )
    assert response.status_code == 400
    assert "once: verb" in response.get_json()["error"]


def follow(reader: Reader, **params: str) -> tuple[list[str], int]:
    """Every statement id through `more`, and the number of pages it took."""
    seen: list[str] = []
    body = reader.page(**params)
    pages = 1
    while True:
        seen.extend(s["id"] for s in body["statements"])
        if not body["more"]:
            return seen, pages
        response = reader.get(body["more"])
        assert response.status_code == 200, response.get_json()
        assert "X-Experience-API-Consistent-Through" in response.headers
        body = response.get_json()
        pages += 1


@pytest.fixture
def many(app: Flask) -> list[str]:
    """250 statements, ten to a stored instant (ties are broken by insertion order)."""
    ids: list[str] = []
    for group in range(25):
        ids += store(
            app,
            *(payload() for _ in range(10)),
            stored=T0 + timedelta(seconds=group),
        )
    return ids


def test_paging_through_250_statements_serves_each_once_newest_first(
    reader: Reader, many: list[str]
) -> None:
    seen, pages = follow(reader)
    assert seen == list(reversed(many))
    assert pages == 3


def test_paging_ascending_with_a_limit_serves_each_once_in_order(
    reader: Reader, many: list[str]
) -> None:
    seen, pages = follow(reader, ascending="true", limit="7")
    assert seen == many
    assert pages == 36


def test_more_keeps_the_filters_and_format(app: Flask, reader: Reader) -> None:
    bo = [store(app, payload(actor=BO))[0] for _ in range(5)]
    store(app, *(payload() for _ in range(5)))
    first = reader.page(agent=json.dumps(BO), limit="2", format="ids")
    assert parse_qs(urlsplit(first["more"]).query).keys() == {"cursor"}
    seen, _ = follow(reader, agent=json.dumps(BO), limit="2", format="ids")
    assert seen == list(reversed(bo))
    second = reader.get(first["more"]).get_json()["statements"][0]
    assert second["verb"] == {"id": Verb.COMPLETED}


def test_statements_stored_while_paging_do_not_shift_pages(
    app: Flask, reader: Reader, many: list[str]
) -> None:
    first = reader.page()
    store(app, payload(), stored=T0 + timedelta(hours=1))
    rest = reader.get(first["more"]).get_json()
    assert [s["id"] for s in rest["statements"]] == list(reversed(many))[100:200]


def test_a_tampered_cursor_is_400(app: Flask, reader: Reader) -> None:
    store(app, *(payload() for _ in range(3)))
    more = reader.page(limit="1")["more"]
    token = parse_qs(urlsplit(more).query)["cursor"][0]
    body, mac = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    decoded["limit"] = 500
    forged = base64.urlsafe_b64encode(json.dumps(decoded).encode()).decode().rstrip("=")
    for bad in (f"{forged}.{mac}", token[:-3] + "AAA", "garbage"):
        response = reader.get(cursor=bad)
        assert response.status_code == 400
        assert "not one this server issued" in response.get_json()["error"]


def test_a_cursor_from_another_deployment_is_400(
    make_app: Any, app: Flask, reader: Reader
) -> None:
    store(app, *(payload() for _ in range(3)))
    other = make_app()  # another SECRET_KEY
    key, secret = add_reader(other, "elsewhere")
    with other.test_client() as foreign_client:
        foreign = Reader(foreign_client, key, secret)
        more = foreign.page(limit="1")["more"]
    assert reader.get(more).status_code == 400


def test_voided_statements_are_left_out_of_pages(app: Flask, reader: Reader) -> None:
    live = store(app, *(payload() for _ in range(3)))
    store(app, *(payload() for _ in range(3)), voided=True)
    seen, _ = follow(reader, limit="2")
    assert seen == list(reversed(live))
