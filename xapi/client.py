"""Our own HTTP client for an LRS's statement resource (xAPI 1.0.3 Communication 2.1).

tincan's `RemoteLRS` has no timeouts, opens a connection per request, lets
network errors escape, cannot send attachments and appends a stray `?` to
every URL (docs: xapi research §1.4). This client does the little the outbox
needs, properly:

* a pooled `requests.Session`, and every call with `timeout=(connect, read)`;
* `X-Experience-API-Version: 1.0.3` and Basic auth (UTF-8, RFC 7617) on every
  request; redirects are not followed (they mean a wrong endpoint, and a
  followed POST turns into a GET);
* `multipart/mixed` bodies for attachments without a `fileUrl` (1.5.2);
* every answer, including "no answer", folded into an `LrsReply` whose
  `ReplyKind` tells the deliverer what to do. It never raises on a network
  error.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import http.client
import json
import re
import socket
import ssl
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.auth import AuthBase

from xapi.outbox import AttachmentPart

__all__ = ["XAPI_VERSION", "AttachmentPart", "LrsClient", "LrsReply", "ReplyKind"]

XAPI_VERSION: Final = "1.0.3"
MAX_JSON_BYTES: Final = 4 * 1024 * 1024  # a larger answer is kept as text only
MAX_TEXT_CHARS: Final = 2000  # `LrsReply.body` when it is not JSON
MAX_ERROR_CHARS: Final = 300  # the LRS's own words in `LrsReply.message`


class ReplyKind(enum.Enum):
    """What an answer means for the statements that were sent."""

    STORED = "stored"  # 2xx: the LRS has them (or, for a GET, here it is)
    CONFLICT = "conflict"  # 409: some id is known already; nothing was stored
    REJECTED = (
        "rejected"  # 400, 413, 422…: this content is bad; sending it again won't help
    )
    AUTH = "auth"  # 401, 403: credentials refused; stop and alert
    MISCONFIGURED = (
        "misconfigured"  # 404, 405, 3xx, 415…: not an LRS statement resource
    )
    RETRY = "retry"  # 429, 5xx, no answer, timeout, unreadable answer: try later


@dataclass(frozen=True)
class LrsReply:
    """One exchange with the LRS, as plain data."""

    status: int | None  # None when no HTTP answer came back
    kind: ReplyKind
    body: Any  # parsed JSON, else text (at most MAX_TEXT_CHARS), None if empty
    message: str  # a sentence for a person: "LRS answered 503: database is down"
    retry_after: float | None = None  # seconds, from Retry-After on 429/503


_AUTH = frozenset({401, 403, 407})
# The request never reached a statement resource that understands it: a wrong
# endpoint, a proxy, or an HTTP mismatch. No statement is at fault.
_MISCONFIGURED = frozenset({404, 405, 406, 410, 411, 414, 415, 417, 421, 426, 428, 431})
_TRANSIENT_4XX = frozenset({408, 425, 429})


def classify(status: int) -> ReplyKind:
    """Map an HTTP status of a statement request to what it means for the sender."""
    if 200 <= status < 300:
        return ReplyKind.STORED
    if 300 <= status < 400:
        return ReplyKind.MISCONFIGURED
    if status == 409:
        return ReplyKind.CONFLICT
    if status in _AUTH:
        return ReplyKind.AUTH
    if status in _MISCONFIGURED:
        return ReplyKind.MISCONFIGURED
    if status in _TRANSIENT_4XX:
        return ReplyKind.RETRY
    if 400 <= status < 500:
        return ReplyKind.REJECTED
    return ReplyKind.RETRY  # 5xx, and anything that is not HTTP as we know it


class _BasicAuth(AuthBase):
    """Basic auth in UTF-8 (requests encodes latin-1 and fails on other characters).

    Passed as `auth=`, so a `.netrc` entry for the host cannot replace it.
    """

    def __init__(self, username: str, password: str) -> None:
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._header = f"Basic {token}"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = self._header
        return r

    def __repr__(self) -> str:
        return "_BasicAuth(<hidden>)"


class LrsClient:
    """Talks to one LRS: POST statements (JSON or multipart), GET one statement."""

    def __init__(
        self,
        endpoint: str,
        username: str,
        password: str,
        *,
        connect_timeout: float,
        read_timeout: float,
        session: requests.Session | None = None,
    ) -> None:
        self.endpoint = _normalise_endpoint(endpoint)
        self.statements_url = urljoin(self.endpoint, "statements")
        parts = urlsplit(self.endpoint)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self.where = f"{parts.hostname}:{port}"
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self.timeout = (connect_timeout, read_timeout)
        self._auth = _BasicAuth(username, password)
        self._own_session = session is None
        self._session = session if session is not None else requests.Session()

    def __repr__(self) -> str:
        return f"LrsClient({self.endpoint!r})"

    def close(self) -> None:
        """Close the session if this client created it."""
        if self._own_session:
            self._session.close()

    def __enter__(self) -> LrsClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- requests -----------------------------------------------------------------

    def post_statements(
        self,
        statements: Sequence[Mapping[str, Any]],
        attachments: Sequence[AttachmentPart] = (),
    ) -> LrsReply:
        """POST a batch; multipart/mixed when attachment parts are given.

        A statement that cannot be serialised as JSON (NaN, a set…) or a part
        whose bytes do not match its hash is REJECTED here, without a request,
        so the caller treats it like the LRS's 400.
        """
        try:
            document = json.dumps(
                list(statements),
                separators=(",", ":"),
                ensure_ascii=False,
                allow_nan=False,
                default=_plain,
            ).encode("utf-8")
        except (TypeError, ValueError) as exc:
            return LrsReply(
                None,
                ReplyKind.REJECTED,
                None,
                f"a statement is not valid JSON ({_short(str(exc))})",
            )
        if attachments:
            try:
                body, content_type = _multipart(document, attachments)
            except ValueError as exc:
                return LrsReply(None, ReplyKind.REJECTED, None, str(exc))
        else:
            body, content_type = document, "application/json"
        reply = self._send(
            "POST",
            self.statements_url,
            params=None,
            data=body,
            content_type=content_type,
        )
        if reply.kind is ReplyKind.STORED and not isinstance(
            reply.body, list | type(None)
        ):
            return LrsReply(
                reply.status,
                ReplyKind.RETRY,
                reply.body,
                f"LRS answered {reply.status} but not with a list of statement ids"
                " (is the endpoint an xAPI LRS?)",
            )
        if reply.kind is ReplyKind.STORED:
            count = len(statements)
            return LrsReply(
                reply.status,
                reply.kind,
                reply.body,
                f"LRS stored {count} statement{'' if count == 1 else 's'}",
            )
        return reply

    def get_statement(self, statement_id: str, *, voided: bool = False) -> LrsReply:
        """GET ?statementId= (or ?voidedStatementId= when `voided`).

        STORED with the statement as `body` when the LRS has it; status 404
        when it does not (a voided statement is only found with `voided=True`).
        """
        param = "voidedStatementId" if voided else "statementId"
        reply = self._send(
            "GET", self.statements_url, params={param: statement_id}, data=None
        )
        if reply.kind is ReplyKind.STORED and not isinstance(reply.body, Mapping):
            return LrsReply(
                reply.status,
                ReplyKind.RETRY,
                reply.body,
                f"LRS answered {reply.status} but not with a statement",
            )
        return reply

    # -- plumbing -----------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        data: bytes | None,
        content_type: str | None = None,
    ) -> LrsReply:
        headers = {
            "X-Experience-API-Version": XAPI_VERSION,
            "Accept": "application/json",
        }
        if content_type is not None:
            headers["Content-Type"] = content_type
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                auth=self._auth,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
            try:
                raw, truncated = _read_limited(response, MAX_JSON_BYTES)
            finally:
                response.close()
        except requests.exceptions.ConnectTimeout:
            return self._no_answer(
                f"could not connect to {self.where} within {self.timeout[0]:g} s"
            )
        except requests.exceptions.ReadTimeout:
            return self._did_not_answer()
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.InvalidSchema,
        ) as exc:
            return LrsReply(
                None,
                ReplyKind.MISCONFIGURED,
                None,
                f"the LRS endpoint is not a usable URL ({_short(str(exc))})",
            )
        except requests.exceptions.ChunkedEncodingError:
            return self._no_answer(f"the answer from {self.where} was cut off")
        except requests.exceptions.ContentDecodingError:
            return self._no_answer(f"the answer from {self.where} could not be decoded")
        except requests.exceptions.ConnectionError as exc:
            if _find(exc, urllib3.exceptions.ReadTimeoutError, socket.timeout):
                return self._did_not_answer()
            return self._no_answer(
                f"could not connect to {self.where} ({_network_reason(exc)})"
            )
        except (
            requests.exceptions.RequestException,
            urllib3.exceptions.HTTPError,
            http.client.HTTPException,
            OSError,
            ValueError,
        ) as exc:
            return self._no_answer(
                f"request to {self.where} failed ({_short(str(exc)) or type(exc).__name__})"
            )
        return _reply(response, raw, truncated)

    def _no_answer(self, message: str) -> LrsReply:
        return LrsReply(None, ReplyKind.RETRY, None, message)

    def _did_not_answer(self) -> LrsReply:
        return self._no_answer(f"LRS did not answer within {self.timeout[1]:g} s")


def _normalise_endpoint(endpoint: str) -> str:
    endpoint = endpoint.strip()
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"LRS endpoint must be an http(s) URL, not {endpoint!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError("put the LRS credentials in username/password, not the URL")
    if parts.query or parts.fragment:
        raise ValueError("the LRS endpoint must not have a query string or fragment")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme}://{parts.netloc}{path}"


def _plain(value: object) -> object:
    """json.dumps fallback: read-only mappings become objects."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _multipart(
    document: bytes, attachments: Iterable[AttachmentPart]
) -> tuple[bytes, str]:
    """Build the multipart/mixed body of Communication 1.5.2; each hash once."""
    parts: dict[str, AttachmentPart] = {}
    for part in attachments:
        sha = part.sha256.lower()
        if sha in parts:
            continue
        if hashlib.sha256(part.data).hexdigest() != sha:
            raise ValueError(f"attachment bytes do not match their sha256 {sha}")
        if not _header_safe(part.content_type):
            raise ValueError(
                f"attachment content type {part.content_type!r} is invalid"
            )
        parts[sha] = part
    while True:
        boundary = f"xapi-{uuid.uuid4().hex}"
        marker = boundary.encode("ascii")
        if marker not in document and not any(marker in p.data for p in parts.values()):
            break
    chunks = [
        b"--" + marker + b"\r\n",
        b"Content-Type: application/json\r\n\r\n",
        document,
        b"\r\n",
    ]
    for sha, part in parts.items():
        chunks += [
            b"--" + marker + b"\r\n",
            f"Content-Type: {part.content_type}\r\n".encode("ascii"),
            b"Content-Transfer-Encoding: binary\r\n",
            f"X-Experience-API-Hash: {sha}\r\n\r\n".encode("ascii"),
            part.data,
            b"\r\n",
        ]
    chunks.append(b"--" + marker + b"--\r\n")
    return b"".join(chunks), f"multipart/mixed; boundary={boundary}"


def _header_safe(value: str) -> bool:
    return bool(value) and value.isascii() and "\r" not in value and "\n" not in value


def _read_limited(response: requests.Response, limit: int) -> tuple[bytes, bool]:
    """Read at most `limit` bytes of the body; True when there was more."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


def _reply(response: requests.Response, raw: bytes, truncated: bool) -> LrsReply:
    status = response.status_code
    kind = classify(status)
    body = _body(response, raw, truncated)
    retry_after = _retry_after(response) if status in (429, 503) else None
    if kind is ReplyKind.STORED:
        message = f"LRS answered {status}"  # never quote a statement back
    elif 300 <= status < 400:
        where = response.headers.get("Location", "elsewhere")
        message = (
            f"LRS answered {status}, redirecting to {_short(where)}; fix the endpoint"
        )
    else:
        said = _error_text(body)
        message = (
            f"LRS answered {status}: {said}"
            if said
            else f"LRS answered {status} {response.reason or ''}".rstrip()
        )
    return LrsReply(status, kind, body, message, retry_after)


def _body(response: requests.Response, raw: bytes, truncated: bool) -> Any:
    if not raw:
        return None
    content_type = response.headers.get("Content-Type", "")
    charset = response.encoding if "charset=" in content_type.lower() else None
    try:
        text = raw.decode(charset or "utf-8", errors="replace")
    except LookupError:
        text = raw.decode("utf-8", errors="replace")
    if not truncated:
        try:
            return json.loads(text)
        except ValueError:
            pass
    if "html" in content_type.lower():
        text = re.sub(r"<[^>]*>", " ", text)
    return text[:MAX_TEXT_CHARS]


def _error_text(body: Any) -> str:
    """The LRS's own explanation, short: ADL LRS answers text, others JSON."""
    if body is None or body in ("", [], {}):
        return ""
    if isinstance(body, Mapping):
        for key in ("message", "error_description", "error", "detail", "errors"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return _short(value)
        return _short(json.dumps(body, ensure_ascii=False))
    if isinstance(body, str):
        return _short(body)
    return _short(json.dumps(body, ensure_ascii=False))


def _short(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _retry_after(response: requests.Response) -> float | None:
    """Seconds from Retry-After: a number, or an HTTP date measured against `Date`.

    Measuring against the response's own `Date` keeps this free of our clock.
    """
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        until = parsedate_to_datetime(value)
        now = parsedate_to_datetime(response.headers.get("Date", ""))
        return max(0.0, (until - now).total_seconds())
    except (TypeError, ValueError, IndexError):
        return None


def _chain(exc: BaseException) -> Iterable[BaseException]:
    """The exception, its causes, contexts, `reason`s and exception args."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack and len(seen) < 50:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        related = [
            current.__cause__,
            current.__context__,
            getattr(current, "reason", None),
        ]
        related += list(current.args)
        stack += [e for e in related if isinstance(e, BaseException)]


def _find(exc: BaseException, *types: type[BaseException]) -> bool:
    return any(isinstance(e, types) for e in _chain(exc))


def _network_reason(exc: BaseException) -> str:
    """A few words for why a connection failed: 'connection refused', 'host name not found'…"""
    for e in _chain(exc):
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if isinstance(e, socket.gaierror | urllib3.exceptions.NameResolutionError):
            return "host name not found"
        if isinstance(e, ssl.SSLCertVerificationError):
            return f"TLS certificate not accepted: {e.verify_message}"
        if isinstance(e, ssl.SSLError):
            return f"TLS error: {e.reason or e}"
        if isinstance(e, ConnectionResetError):
            return "connection reset"
        if isinstance(e, http.client.RemoteDisconnected):
            return "the connection closed without an answer"
        if isinstance(e, urllib3.exceptions.ProxyError):
            return f"proxy error: {_short(str(e), 120)}"
    return _short(str(exc), 200) or type(exc).__name__
