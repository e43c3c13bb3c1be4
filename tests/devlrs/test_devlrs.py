"""devlrs over real loopback HTTP: a strict LRS, and the faults it can be told to make."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from uuid import uuid4

import pytest
import requests

from devlrs import (
    Delay,
    DevLrsConfig,
    FailNext,
    FaultPlan,
    FaultPlanError,
    Faults,
    StoreThenFail,
)
from devlrs.live import LiveLrs, running_lrs

VERSION = {"X-Experience-API-Version": "1.0.3"}
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
ATTEMPTED = "http://adlnet.gov/expapi/verbs/attempted"
ROOT = Path(__file__).resolve().parents[2]


def statement(
    actor: str = "sub-1",
    verb: str = COMPLETED,
    module: str = "m1",
    **extra: Any,
) -> dict[str, Any]:
    """A valid xAPI statement with a fresh id."""
    return {
        "id": str(uuid4()),
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": "https://lms.test", "name": actor},
        },
        "verb": {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[-1]}},
        "object": {
            "objectType": "Activity",
            "id": f"https://tool.test/programs/p/modules/{module}",
        },
        "timestamp": "2026-11-23T10:00:00Z",
        **extra,
    }


@pytest.fixture
def lrs() -> Iterator[LiveLrs]:
    with running_lrs() as live:
        yield live


def post(lrs: LiveLrs, body: Any, **kwargs: Any) -> requests.Response:
    return requests.post(
        lrs.endpoint + "statements",
        json=body,
        auth=lrs.auth,
        headers=VERSION,
        timeout=5,
        **kwargs,
    )


def get(lrs: LiveLrs, path: str = "statements", **params: str) -> requests.Response:
    return requests.get(
        urljoin(lrs.endpoint, path),
        params=params,
        auth=lrs.auth,
        headers=VERSION,
        timeout=5,
    )


def state(lrs: LiveLrs) -> dict[str, Any]:
    response = requests.get(f"{lrs.url}/_control/state", timeout=5)
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def multipart_body(
    statements: Any, parts: list[tuple[str, bytes]]
) -> tuple[bytes, str]:
    boundary = "devlrs-test-boundary"
    chunks = [
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(),
        json.dumps(statements).encode(),
    ]
    for sha2, content in parts:
        chunks += [
            f"\r\n--{boundary}\r\nContent-Type: text/plain\r\n"
            f"Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {sha2}"
            "\r\n\r\n".encode(),
            content,
        ]
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/mixed; boundary={boundary}"


def with_attachment(content: bytes, file_url: str | None = None) -> dict[str, Any]:
    attachment: dict[str, Any] = {
        "usageType": "http://id.tincanapi.com/attachment/certificate",
        "display": {"en-US": "certificate"},
        "contentType": "text/plain",
        "length": len(content),
        "sha2": hashlib.sha256(content).hexdigest(),
    }
    if file_url:
        attachment["fileUrl"] = file_url
    return statement(attachments=[attachment])


# -- the basics of the protocol ------------------------------------------------------------
def test_about_needs_no_credentials_and_lists_the_versions(lrs: LiveLrs) -> None:
    response = requests.get(lrs.endpoint + "about", timeout=5)

    assert response.status_code == 200
    assert response.json() == {"version": ["1.0.3", "2.0.0"]}
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


@pytest.mark.parametrize(
    "auth", [None, ("tierpath", "wrong"), ("someone", "devlrs-secret")]
)
def test_missing_or_wrong_credentials_are_refused_with_401(
    lrs: LiveLrs, auth: tuple[str, str] | None
) -> None:
    response = requests.post(
        lrs.endpoint + "statements",
        json=[statement()],
        auth=auth,
        headers=VERSION,
        timeout=5,
    )

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert "credentials" in response.json()["error"]
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    snapshot = state(lrs)
    assert snapshot["stored_ids"] == []
    assert snapshot["authorizations_failed"] == 1
    assert snapshot["requests"] == {"POST 401": 1}


def test_a_request_without_the_version_header_is_refused_with_400(
    lrs: LiveLrs,
) -> None:
    for headers in ({}, {"X-Experience-API-Version": "0.95"}):
        response = requests.post(
            lrs.endpoint + "statements",
            json=[statement()],
            auth=lrs.auth,
            headers=headers,
            timeout=5,
        )
        assert response.status_code == 400
        assert "X-Experience-API-Version" in response.json()["error"]
    assert state(lrs)["stored_ids"] == []


def test_a_batch_is_stored_whole_and_answered_with_its_ids(lrs: LiveLrs) -> None:
    first, second = statement(), statement(verb=ATTEMPTED)
    no_id = statement()
    del no_id["id"]

    response = post(lrs, [first, second, no_id])

    assert response.status_code == 200
    ids = response.json()
    assert ids[:2] == [first["id"], second["id"]]
    assert len(ids) == 3
    assert ids[2] not in ids[:2]
    snapshot = state(lrs)
    assert snapshot["stored_ids"] == ids
    assert snapshot["stored_count"] == dict.fromkeys(ids, 1)
    assert snapshot["received"] == {first["id"]: 1, second["id"]: 1}
    stored = get(lrs, statementId=first["id"]).json()
    assert stored["stored"].endswith("Z")
    assert stored["authority"]["account"] == {"homePage": lrs.url, "name": "tierpath"}
    assert stored["version"] == "1.0.0"


def test_a_batch_with_a_known_id_is_refused_whole_and_stores_nothing(
    lrs: LiveLrs,
) -> None:
    known = statement()
    assert post(lrs, [known]).status_code == 200
    fresh = statement()

    response = post(lrs, [fresh, known, statement()])

    assert response.status_code == 409
    assert known["id"] in response.json()["error"]
    snapshot = state(lrs)
    assert snapshot["stored_ids"] == [known["id"]]
    assert snapshot["received"][known["id"]] == 2
    assert snapshot["received"][fresh["id"]] == 1
    assert fresh["id"] not in snapshot["stored_count"]
    assert get(lrs, statementId=fresh["id"]).status_code == 404


def test_an_identical_resend_of_one_statement_gets_409(lrs: LiveLrs) -> None:
    one = statement()
    assert post(lrs, one).json() == [one["id"]]

    assert post(lrs, one).status_code == 409
    assert state(lrs)["stored_count"] == {one["id"]: 1}


def test_a_duplicate_id_inside_one_batch_is_refused_with_400(lrs: LiveLrs) -> None:
    twice = statement()

    response = post(lrs, [twice, statement(), dict(twice, verb=statement()["verb"])])

    assert response.status_code == 400
    assert twice["id"] in response.json()["error"]
    assert state(lrs)["stored_ids"] == []


def test_an_invalid_statement_refuses_the_whole_batch_with_400(lrs: LiveLrs) -> None:
    bad = statement(result={"score": {"scaled": 1.5}})

    response = post(lrs, [statement(), bad, statement()])

    assert response.status_code == 400
    message = response.json()["error"]
    assert bad["id"] in message
    assert "result.score.scaled" in message
    assert state(lrs)["stored_ids"] == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"id": "not-a-uuid"}, "not a UUID"),
        ({"verb": {"id": "not an iri"}}, "verb.id"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_malformed_statements_are_refused_with_a_clear_message(
    lrs: LiveLrs, change: dict[str, Any], expected: str
) -> None:
    response = post(lrs, [statement(), {**statement(), **change}])

    assert response.status_code == 400
    assert expected in response.json()["error"]
    assert state(lrs)["stored_ids"] == []


def test_a_body_that_is_not_json_is_refused(lrs: LiveLrs) -> None:
    for data, content_type in (
        (b"[{", "application/json"),
        (json.dumps([statement()]).encode(), "text/plain"),
    ):
        response = requests.post(
            lrs.endpoint + "statements",
            data=data,
            auth=lrs.auth,
            headers={**VERSION, "Content-Type": content_type},
            timeout=5,
        )
        assert response.status_code == 400
    assert state(lrs)["stored_ids"] == []


def test_put_stores_one_statement_under_the_given_id(lrs: LiveLrs) -> None:
    one = statement()
    url = lrs.endpoint + "statements"

    def put(body: Any, **params: str) -> requests.Response:
        return requests.put(
            url, json=body, params=params, auth=lrs.auth, headers=VERSION, timeout=5
        )

    assert put(one, statementId=one["id"]).status_code == 204
    assert put(one, statementId=one["id"]).status_code == 409
    without_id = statement()
    target = without_id.pop("id")
    assert put(without_id, statementId=target).status_code == 204
    assert put(statement(), statementId=str(uuid4())).status_code == 400
    assert put(statement()).status_code == 400
    assert put([statement()], statementId=str(uuid4())).status_code == 400
    assert state(lrs)["stored_ids"] == [one["id"], target]


def test_get_by_id_returns_the_statement_or_404(lrs: LiveLrs) -> None:
    one = statement(result={"score": {"scaled": 0.8}, "success": True})
    post(lrs, [one])

    found = get(lrs, statementId=one["id"])
    missing = get(lrs, statementId=str(uuid4()))

    assert found.status_code == 200
    assert found.json()["result"] == one["result"]
    assert found.headers["X-Experience-API-Consistent-Through"].endswith("Z")
    assert missing.status_code == 404
    assert get(lrs, statementId="nope").status_code == 400
    assert get(lrs, statementId=one["id"], verb=COMPLETED).status_code == 400


def test_the_list_filters_by_verb_agent_activity_registration_and_time(
    lrs: LiveLrs,
) -> None:
    registration = str(uuid4())
    a = statement(actor="sub-1", module="m1")
    b = statement(actor="sub-2", verb=ATTEMPTED, module="m2")
    c = statement(actor="sub-1", module="m2", context={"registration": registration})
    post(lrs, [a, b])
    between = time.time()
    time.sleep(0.01)
    post(lrs, [c])

    def ids(**params: str) -> list[str]:
        response = get(lrs, **params)
        assert response.status_code == 200, response.text
        assert "X-Experience-API-Consistent-Through" in response.headers
        return [s["id"] for s in response.json()["statements"]]

    agent = json.dumps({"account": {"homePage": "https://lms.test", "name": "sub-1"}})
    cut = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(between))
    cut += f".{int(between % 1 * 1_000_000):06d}Z"
    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(ascending="true") == [a["id"], b["id"], c["id"]]
    assert ids(verb=ATTEMPTED) == [b["id"]]
    assert ids(agent=agent) == [c["id"], a["id"]]
    assert ids(activity="https://tool.test/programs/p/modules/m2") == [
        c["id"],
        b["id"],
    ]
    assert ids(registration=registration) == [c["id"]]
    assert ids(since=cut) == [c["id"]]
    assert ids(until=cut) == [b["id"], a["id"]]
    assert get(lrs, agent="{not json").status_code == 400
    assert get(lrs, colour="blue").status_code == 400


def test_the_list_pages_through_more_links(lrs: LiveLrs) -> None:
    batch = [statement() for _ in range(5)]
    post(lrs, batch)
    seen: list[str] = []

    page = get(lrs, limit="2", ascending="true").json()
    pages = 1
    while True:
        seen += [s["id"] for s in page["statements"]]
        if not page["more"]:
            break
        assert page["more"].startswith("/xapi/")
        page = get(lrs, page["more"]).json()
        pages += 1

    assert seen == [s["id"] for s in batch]
    assert pages == 3
    assert get(lrs, "/xapi/statements/more/garbage").status_code == 400


def test_a_multipart_batch_with_its_attachment_is_stored(lrs: LiveLrs) -> None:
    content = b"certificate \x00\xff bytes\r\n--not-a-boundary"
    one = with_attachment(content)
    sha2 = one["attachments"][0]["sha2"]
    body, content_type = multipart_body([one], [(sha2, content)])

    response = requests.post(
        lrs.endpoint + "statements",
        data=body,
        auth=lrs.auth,
        headers={**VERSION, "Content-Type": content_type},
        timeout=5,
    )

    assert response.status_code == 200, response.text
    assert response.json() == [one["id"]]
    assert state(lrs)["attachments"] == [sha2]
    served = get(lrs, statementId=one["id"], attachments="true")
    assert served.headers["Content-Type"].startswith("multipart/mixed")
    assert content in served.content


def test_attachments_and_parts_must_match(lrs: LiveLrs) -> None:
    content = b"certificate"
    one = with_attachment(content)
    sha2 = one["attachments"][0]["sha2"]
    cases = [
        multipart_body([one], []),  # attachment without its part
        multipart_body([statement()], [(sha2, content)]),  # part without attachment
        multipart_body([one], [(sha2, b"other bytes")]),  # hash does not match
    ]
    for body, content_type in cases:
        response = requests.post(
            lrs.endpoint + "statements",
            data=body,
            auth=lrs.auth,
            headers={**VERSION, "Content-Type": content_type},
            timeout=5,
        )
        assert response.status_code == 400, response.text
    assert post(lrs, [one]).status_code == 400  # needs multipart
    assert post(lrs, [with_attachment(content, "https://files.test/c")]).ok
    assert len(state(lrs)["stored_ids"]) == 1


# -- faults ------------------------------------------------------------------------------
def test_reject_ids_refuses_a_batch_mid_way_and_stores_nothing(lrs: LiveLrs) -> None:
    batch = [statement() for _ in range(3)]
    lrs.faults.reject_ids(batch[1]["id"], reason="the LRS does not like it")

    response = post(lrs, batch)

    assert response.status_code == 400
    assert response.json() == {
        "error": f"statement {batch[1]['id']} is invalid: the LRS does not like it"
    }
    assert state(lrs)["stored_ids"] == []
    assert post(lrs, [batch[0], batch[2]]).status_code == 200


def test_fail_next_answers_503_then_the_lrs_is_healthy_again(lrs: LiveLrs) -> None:
    lrs.faults.fail_next(2, status=503, message="maintenance", retry_after=7)
    one = statement()

    first, second, third = (post(lrs, [one]) for _ in range(3))

    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.json() == {"error": "maintenance"}
    assert first.headers["Retry-After"] == "7"
    snapshot = state(lrs)
    assert snapshot["received"] == {one["id"]: 3}
    assert snapshot["stored_count"] == {one["id"]: 1}
    assert snapshot["requests"] == {"POST 503": 2, "POST 200": 1}
    assert lrs.faults.plan.empty


def test_fail_next_leaves_reads_alone_unless_told(lrs: LiveLrs) -> None:
    lrs.faults.fail_next(1, status=500)
    assert get(lrs).status_code == 200
    lrs.faults.set(fail_next=FailNext(1, 502, methods=("GET",)))
    assert get(lrs).status_code == 502
    assert get(lrs).status_code == 200


def test_delay_slows_the_next_requests(lrs: LiveLrs) -> None:
    lrs.faults.delay(0.2, count=1)

    started = time.perf_counter()
    assert post(lrs, [statement()]).status_code == 200
    slow = time.perf_counter() - started
    started = time.perf_counter()
    assert post(lrs, [statement()]).status_code == 200
    fast = time.perf_counter() - started

    assert slow >= 0.2
    assert fast < slow
    assert lrs.faults.plan.delay is None
    assert len(state(lrs)["stored_ids"]) == 2


def test_store_then_fail_stores_the_batch_but_answers_500(lrs: LiveLrs) -> None:
    lrs.faults.store_then_fail()
    batch = [statement(), statement()]

    response = post(lrs, batch)
    resend = post(lrs, batch)

    assert response.status_code == 500
    assert resend.status_code == 409
    snapshot = state(lrs)
    assert snapshot["stored_ids"] == [s["id"] for s in batch]
    assert snapshot["stored_count"] == {s["id"]: 1 for s in batch}
    assert snapshot["received"] == {s["id"]: 2 for s in batch}


def test_store_then_hang_stores_while_the_client_times_out(lrs: LiveLrs) -> None:
    lrs.faults.store_then_hang(0.5)
    one = statement()

    with pytest.raises(requests.ReadTimeout):
        requests.post(
            lrs.endpoint + "statements",
            json=[one],
            auth=lrs.auth,
            headers=VERSION,
            timeout=(2, 0.2),
        )

    assert state(lrs)["stored_ids"] == [one["id"]]
    assert post(lrs, [one]).status_code == 409


def test_stop_refuses_connections_and_start_serves_again_on_the_same_port(
    lrs: LiveLrs,
) -> None:
    endpoint = lrs.endpoint
    with requests.Session() as session:  # a kept-alive connection is cut too
        session.headers.update(VERSION)
        session.auth = lrs.auth
        assert session.post(endpoint + "statements", json=[statement()], timeout=5).ok

        lrs.stop()
        with pytest.raises(requests.ConnectionError):
            session.post(endpoint + "statements", json=[statement()], timeout=5)
        with pytest.raises(requests.ConnectionError):
            requests.get(endpoint + "about", timeout=5)

        lrs.start()
        assert lrs.endpoint == endpoint
        assert session.post(endpoint + "statements", json=[statement()], timeout=5).ok
    assert len(state(lrs)["stored_ids"]) == 2


def test_concurrent_batches_with_the_same_id_store_it_once(lrs: LiveLrs) -> None:
    shared = statement()
    batches = [[statement(), shared] for _ in range(8)]
    start = threading.Barrier(len(batches))
    codes: list[int] = []

    def send(batch: list[dict[str, Any]]) -> None:
        start.wait()
        codes.append(post(lrs, batch).status_code)

    threads = [threading.Thread(target=send, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(codes) == [200] + [409] * 7
    snapshot = state(lrs)
    assert snapshot["stored_count"][shared["id"]] == 1
    assert snapshot["received"][shared["id"]] == 8
    assert len(snapshot["stored_ids"]) == 2


# -- the control API, the page, the plan in Python --------------------------------------------
def test_the_fault_plan_is_set_shown_and_cleared_over_http(lrs: LiveLrs) -> None:
    faults = f"{lrs.url}/_control/faults"
    plan = {
        "fail_next": {"count": 1, "status": 429, "retry_after": 2},
        "reject_ids": ["ABC"],
    }

    assert requests.post(faults, json=plan, timeout=5).status_code == 200
    shown = state(lrs)["faults"]
    assert shown["fail_next"]["status"] == 429
    assert shown["reject_ids"] == {"abc": "rejected by the devlrs fault plan"}
    assert post(lrs, [statement()]).status_code == 429
    assert requests.post(faults, json={"explode": {}}, timeout=5).status_code == 400
    bad_count = {"fail_next": {"count": 0}}
    assert requests.post(faults, json=bad_count, timeout=5).status_code == 400
    assert requests.delete(faults, timeout=5).status_code == 204
    assert state(lrs)["faults"]["reject_ids"] == {}


def test_reset_forgets_statements_counters_and_faults(lrs: LiveLrs) -> None:
    post(lrs, [statement()])
    requests.post(lrs.endpoint + "statements", json=[], timeout=5)
    lrs.faults.delay(5)

    assert requests.post(f"{lrs.url}/_control/reset", timeout=5).status_code == 204

    assert state(lrs) == {
        "stored_ids": [],
        "received": {},
        "stored_count": {},
        "requests": {},
        "authorizations_failed": 0,
        "attachments": [],
        "faults": FaultPlan().to_json(),
    }


def test_the_page_shows_the_latest_statements_escaped(lrs: LiveLrs) -> None:
    post(lrs, [statement(actor="<b>sub-9</b>", result={"score": {"scaled": 0.75}})])

    page = requests.get(lrs.url + "/", timeout=5)

    assert page.status_code == 200
    assert '<meta http-equiv="refresh" content="3">' in page.text
    assert "&lt;b&gt;sub-9&lt;/b&gt;" in page.text
    assert "<b>sub-9" not in page.text
    assert "scaled 0.75" in page.text
    assert "https://tool.test/programs/p/modules/m1" in page.text


def test_each_running_lrs_starts_fresh(lrs: LiveLrs) -> None:
    post(lrs, [statement()])
    lrs.faults.fail_next(3)
    config = DevLrsConfig(username="other", password="pw")

    with running_lrs(config) as other:
        assert other.port != lrs.port
        assert other.store is not lrs.store
        assert other.faults.plan.empty
        assert state(other)["stored_ids"] == []
        assert post(other, [statement()]).status_code == 200


def test_the_plan_counts_down_and_refuses_nonsense() -> None:
    faults = Faults()
    faults.set(delay=Delay(0.1, count=2), store_then_fail=StoreThenFail(count=1))

    assert [faults.take_delay("POST") for _ in range(3)] == [0.1, 0.1, 0.0]
    assert faults.take_delay("GET") == 0.0
    assert faults.take_after_store() == (0.0, StoreThenFail())
    assert faults.plan.empty
    with pytest.raises(FaultPlanError):
        faults.fail_next(1, status=200)
    with pytest.raises(FaultPlanError):
        FaultPlan.from_json({"delay": {"seconds": "slow"}})
    plan = FaultPlan(fail_next=FailNext(2, 502, methods=("GET", "POST")))
    assert FaultPlan.from_json(plan.to_json()) == plan


def test_python_m_devlrs_serves_on_the_given_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DEVLRS_TEST_PASSWORD": "from-env"}
    process = subprocess.Popen(  # noqa: S603 - our own module
        [
            *(sys.executable, "-m", "devlrs", "--port", str(port), "--quiet"),
            *("--password-env", "DEVLRS_TEST_PASSWORD"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                about = requests.get(f"http://127.0.0.1:{port}/xapi/about", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline
                assert process.poll() is None
                time.sleep(0.05)
        assert about.ok
        response = requests.get(
            f"http://127.0.0.1:{port}/xapi/statements",
            auth=("tierpath", "from-env"),
            headers=VERSION,
            timeout=5,
        )
        assert response.json() == {"statements": [], "more": ""}
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/xapi/" in out.decode()
