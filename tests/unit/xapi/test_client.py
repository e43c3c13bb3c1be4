"""The LRS client speaks xAPI over a real loopback socket and never raises on the network."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from xapi.client import AttachmentPart, LrsClient, LrsReply, ReplyKind, classify
from xapi.outbox import Target

STATEMENT_ID = "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"
STATEMENT: dict[str, Any] = {
    "id": STATEMENT_ID,
    "actor": {"account": {"homePage": "https://lms.example", "name": "sub-1"}},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
    "object": {"id": "https://tool.example/programs/p/modules/m"},
}
PASSWORD = "sécret:with colon"


@dataclass
class Seen:
    method: str
    raw_uri: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class LoopbackLrs:
    """A werkzeug server on 127.0.0.1 whose answer each test sets."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    answer: Callable[[Request], Response] = lambda _request: Response(
        json.dumps([STATEMENT_ID]), 200, content_type="application/json"
    )
    release: threading.Event = field(default_factory=threading.Event)

    def app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.seen.append(
            Seen(
                method=request.method,
                raw_uri=environ.get("RAW_URI", ""),
                path=request.path,
                args=dict(request.args),
                headers=dict(request.headers),
                body=request.get_data(),
            )
        )
        return self.answer(request)(environ, start_response)


@pytest.fixture
def lrs() -> Iterator[LoopbackLrs]:
    fake = LoopbackLrs()
    server = make_server("127.0.0.1", 0, fake.app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    fake.url = f"http://127.0.0.1:{server.port}/xapi/"
    yield fake
    fake.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def client(lrs: LoopbackLrs) -> Iterator[LrsClient]:
    with LrsClient(
        lrs.url, "tool", PASSWORD, connect_timeout=2.0, read_timeout=2.0
    ) as lrs_client:
        yield lrs_client


def answer(
    status: int, body: str = "", content_type: str = "text/plain", **headers: str
) -> Callable[[Request], Response]:
    def _answer(_request: Request) -> Response:
        response = Response(body, status, content_type=content_type)
        for name, value in headers.items():
            response.headers[name.replace("_", "-")] = value
        return response

    return _answer


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- the request ---------------------------------------------------------------


def test_post_sends_version_basic_auth_and_a_json_array(
    lrs: LoopbackLrs, client: LrsClient
) -> None:
    reply = client.post_statements([STATEMENT])

    assert reply == LrsReply(
        200, ReplyKind.STORED, [STATEMENT_ID], "LRS stored 1 statement"
    )
    (seen,) = lrs.seen
    assert seen.method == "POST"
    assert seen.raw_uri == "/xapi/statements"  # no stray "?"
    assert seen.headers["X-Experience-Api-Version"] == "1.0.3"
    assert seen.headers["Content-Type"] == "application/json"
    credentials = base64.b64encode(f"tool:{PASSWORD}".encode()).decode()
    assert seen.headers["Authorization"] == f"Basic {credentials}"
    assert json.loads(seen.body) == [STATEMENT]


def test_get_statement_asks_by_statement_id_or_voided_statement_id(
    lrs: LoopbackLrs, client: LrsClient
) -> None:
    stored = {**STATEMENT, "stored": "2026-11-23T10:00:00Z"}
    lrs.answer = answer(200, json.dumps(stored), "application/json")

    found = client.get_statement(STATEMENT_ID)
    client.get_statement(STATEMENT_ID, voided=True)

    assert found.kind is ReplyKind.STORED
    assert found.body == stored
    assert found.message == "LRS answered 200"
    assert [s.method for s in lrs.seen] == ["GET", "GET"]
    assert lrs.seen[0].args == {"statementId": STATEMENT_ID}
    assert lrs.seen[1].args == {"voidedStatementId": STATEMENT_ID}
    assert lrs.seen[0].headers["X-Experience-Api-Version"] == "1.0.3"
    assert lrs.seen[0].headers["Authorization"].startswith("Basic ")


def test_get_of_an_unknown_statement_reports_status_404(
    lrs: LoopbackLrs, client: LrsClient
) -> None:
    lrs.answer = answer(404, "no statement with that id")

    reply = client.get_statement(STATEMENT_ID)

    assert reply.status == 404
    assert reply.message == "LRS answered 404: no statement with that id"


@pytest.mark.parametrize(
    ("endpoint", "statements_url"),
    [
        ("https://lrs.example/xapi", "https://lrs.example/xapi/statements"),
        ("https://lrs.example/xapi/", "https://lrs.example/xapi/statements"),
        ("  https://lrs.example  ", "https://lrs.example/statements"),
        ("http://lrs.example:8080/a/b/", "http://lrs.example:8080/a/b/statements"),
    ],
)
def test_endpoint_is_normalised_to_one_statements_url(
    endpoint: str, statements_url: str
) -> None:
    with LrsClient(endpoint, "u", "p", connect_timeout=1, read_timeout=1) as lrs_client:
        assert lrs_client.statements_url == statements_url


@pytest.mark.parametrize(
    "endpoint",
    [
        "lrs.example/xapi",
        "ftp://lrs.example/",
        "https://lrs.example/xapi?key=1",
        "https://user:pw@lrs.example/xapi/",
    ],
)
def test_unusable_endpoints_are_refused_up_front(endpoint: str) -> None:
    with pytest.raises(ValueError, match="LRS"):
        LrsClient(endpoint, "u", "p", connect_timeout=1, read_timeout=1)


def test_neither_the_client_nor_a_target_shows_the_password() -> None:
    with LrsClient(
        "https://lrs.example/", "u", "hunter2", connect_timeout=1, read_timeout=1
    ) as lrs_client:
        target = Target(1, "lrs", "https://lrs.example/", "u", "hunter2", 50)
        assert "hunter2" not in repr(lrs_client) + repr(target)


def test_a_shared_session_is_left_open_and_an_own_session_is_closed(
    lrs: LoopbackLrs,
) -> None:
    with requests.Session() as shared:
        LrsClient(
            lrs.url, "u", "p", connect_timeout=1, read_timeout=1, session=shared
        ).close()
        # still usable: the client did not close what it does not own
        reply = LrsClient(
            lrs.url, "u", "p", connect_timeout=1, read_timeout=1, session=shared
        ).post_statements([STATEMENT])
        assert reply.kind is ReplyKind.STORED


# -- what answers mean --------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, ReplyKind.STORED),
        (204, ReplyKind.STORED),
        (301, ReplyKind.MISCONFIGURED),
        (400, ReplyKind.REJECTED),
        (401, ReplyKind.AUTH),
        (403, ReplyKind.AUTH),
        (404, ReplyKind.MISCONFIGURED),
        (405, ReplyKind.MISCONFIGURED),
        (409, ReplyKind.CONFLICT),
        (413, ReplyKind.REJECTED),
        (415, ReplyKind.MISCONFIGURED),
        (422, ReplyKind.REJECTED),
        (429, ReplyKind.RETRY),
        (500, ReplyKind.RETRY),
        (502, ReplyKind.RETRY),
        (503, ReplyKind.RETRY),
    ],
)
def test_statuses_map_to_what_the_sender_should_do(
    lrs: LoopbackLrs, client: LrsClient, status: int, kind: ReplyKind
) -> None:
    lrs.answer = answer(status, "", Location="https://elsewhere.example/")

    reply = client.post_statements([STATEMENT])

    assert (reply.status, reply.kind) == (status, kind)
    assert len(lrs.seen) == 1  # a redirect is reported, not followed
    assert classify(status) is kind


def test_the_message_quotes_the_lrs_text_or_json_error(
    lrs: LoopbackLrs, client: LrsClient
) -> None:
    lrs.answer = answer(503, "database is down\n")
    assert client.post_statements([STATEMENT]).message == (
        "LRS answered 503: database is down"
    )
    lrs.answer = answer(400, json.dumps({"message": "bad verb"}), "application/json")
    rejected = client.post_statements([STATEMENT])
    assert rejected.message == "LRS answered 400: bad verb"
    assert rejected.body == {"message": "bad verb"}
    lrs.answer = answer(502)
    assert client.post_statements([STATEMENT]).message == "LRS answered 502 BAD GATEWAY"


def test_a_huge_error_body_is_truncated(lrs: LoopbackLrs, client: LrsClient) -> None:
    lrs.answer = answer(500, "x" * 100_000)

    reply = client.post_statements([STATEMENT])

    assert isinstance(reply.body, str)
    assert len(reply.body) <= 2000
    assert len(reply.message) < 400


def test_retry_after_in_seconds_is_reported(
    lrs: LoopbackLrs, client: LrsClient
) -> None:
    lrs.answer = answer(429, "slow down", Retry_After="120")

    reply = client.post_statements([STATEMENT])

    assert reply.kind is ReplyKind.RETRY
    assert reply.retry_after == 120.0


def test_retry_after_as_a_date_is_measured_against_the_lrs_date(
    lrs: LoopbackLrs, client: LrsClient
) -> None:
    # werkzeug stamps the answer with its own Date (now)
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    lrs.answer = answer(503, "maintenance", Retry_After=later)

    reply = client.post_statements([STATEMENT])

    assert reply.retry_after is not None
    assert 85 <= reply.retry_after <= 91


def test_a_2xx_that_is_not_a_list_of_ids_is_not_taken_as_stored(
    lrs: LoopbackLrs, client: LrsClient
) -> None:
    lrs.answer = answer(
        200, "<html><body>Welcome to the portal</body></html>", "text/html"
    )

    reply = client.post_statements([STATEMENT])

    assert reply.kind is ReplyKind.RETRY
    assert "not with a list of statement ids" in reply.message


# -- no answer -------------------------------------------------------------------------


def test_a_slow_lrs_is_retry_with_did_not_answer(lrs: LoopbackLrs) -> None:
    def stall(_request: Request) -> Response:
        lrs.release.wait(5)
        return Response("[]", 200)

    lrs.answer = stall
    started = time.monotonic()
    with LrsClient(lrs.url, "u", "p", connect_timeout=1, read_timeout=0.2) as slow:
        reply = slow.post_statements([STATEMENT])

    assert time.monotonic() - started < 2
    assert reply == LrsReply(
        None, ReplyKind.RETRY, None, "LRS did not answer within 0.2 s"
    )


def test_a_closed_port_is_retry_with_connection_refused() -> None:
    port = closed_port()
    with LrsClient(
        f"http://127.0.0.1:{port}/xapi/", "u", "p", connect_timeout=1, read_timeout=1
    ) as nowhere:
        reply = nowhere.post_statements([STATEMENT])

    assert reply.status is None
    assert reply.kind is ReplyKind.RETRY
    assert (
        reply.message == f"could not connect to 127.0.0.1:{port} (connection refused)"
    )


class _Raising(requests.Session):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error
        self.timeouts: list[Any] = []

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        self.timeouts.append(kwargs.get("timeout"))
        raise self.error


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            requests.exceptions.ConnectTimeout("x"),
            "could not connect to lrs.example:443 within 5 s",
        ),
        (requests.exceptions.ReadTimeout("x"), "LRS did not answer within 30 s"),
        (
            requests.exceptions.ChunkedEncodingError("x"),
            "the answer from lrs.example:443 was cut off",
        ),
        (OSError("boom"), "request to lrs.example:443 failed (boom)"),
    ],
)
def test_network_failures_become_retry_replies_with_a_sentence(
    error: Exception, message: str
) -> None:
    with _Raising(error) as session:
        lrs_client = LrsClient(
            "https://lrs.example/xapi/",
            "u",
            "p",
            connect_timeout=5,
            read_timeout=30,
            session=session,
        )
        reply = lrs_client.get_statement(STATEMENT_ID)

    assert reply == LrsReply(None, ReplyKind.RETRY, None, message)
    assert session.timeouts == [(5, 30)]


# -- bodies that are not plain JSON ------------------------------------------------------


def _parse_multipart(content_type: str, body: bytes) -> EmailMessage:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.message_from_bytes(head + body, policy=email.policy.HTTP)
    assert isinstance(message, EmailMessage)
    return message


def test_attachments_go_as_multipart_mixed_with_each_hash_once(
    lrs: LoopbackLrs, client: LrsClient
) -> None:
    pdf = b"%PDF-1.7\r\n\x00\xff\xfe binary\r\n--not-a-boundary\r\n"
    sha = hashlib.sha256(pdf).hexdigest()
    statement = {
        **STATEMENT,
        "attachments": [
            {
                "usageType": "http://id.tincanapi.com/attachment/supporting_media",
                "display": {"en": "evidence"},
                "contentType": "application/pdf",
                "length": len(pdf),
                "sha2": sha,
            }
        ],
    }
    part = AttachmentPart("application/pdf", sha, pdf)

    reply = client.post_statements([statement, statement], [part, part])

    assert reply.kind is ReplyKind.STORED
    (seen,) = lrs.seen
    content_type = seen.headers["Content-Type"]
    assert content_type.startswith("multipart/mixed; boundary=")
    message = _parse_multipart(content_type, seen.body)
    assert message.is_multipart()
    first, second, *rest = list(message.iter_parts())
    assert rest == []
    assert first.get_content_type() == "application/json"
    document = first.get_payload(decode=True)
    assert isinstance(document, bytes)
    assert json.loads(document) == [statement, statement]
    assert second.get_content_type() == "application/pdf"
    assert second.get_payload(decode=True) == pdf
    assert second["Content-Transfer-Encoding"] == "binary"
    assert second["X-Experience-API-Hash"] == sha
    boundary = content_type.split("boundary=")[1].encode()
    raw_part = seen.body.split(b"--" + boundary)[2]
    assert raw_part.split(b"\r\n\r\n", 1)[1] == pdf + b"\r\n"


def test_an_attachment_whose_bytes_do_not_match_its_hash_is_rejected_unsent(
    lrs: LoopbackLrs, client: LrsClient
) -> None:
    part = AttachmentPart("text/plain", hashlib.sha256(b"other").hexdigest(), b"data")

    reply = client.post_statements([STATEMENT], [part])

    assert reply.kind is ReplyKind.REJECTED
    assert reply.status is None
    assert "do not match" in reply.message
    assert lrs.seen == []


def test_a_statement_that_is_not_json_is_rejected_unsent(
    lrs: LoopbackLrs, client: LrsClient
) -> None:
    reply = client.post_statements(
        [{**STATEMENT, "result": {"score": {"raw": float("nan")}}}]
    )

    assert reply.kind is ReplyKind.REJECTED
    assert reply.message.startswith("a statement is not valid JSON")
    assert lrs.seen == []
