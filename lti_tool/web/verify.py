"""The public /verify page: check an Open Badge without logging in.

A promotion panel pastes a credential's JSON, uploads a baked PNG/SVG (or a
JSON file) or gives the credential's web address, optionally types the
candidate's email, and sees each check in plain words.

* No login and no CSRF token: the page only reads, it changes nothing.
* Rate limited per client address (TIERPATH_BADGE_VERIFY_PER_MINUTE).
* Uploads are parsed in memory (werkzeug would spool files over 500 KB to a
  temporary file) and never stored; the result page is not cached, and the
  email is never logged.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from io import BytesIO
from typing import IO, Any

from flask import Blueprint, Flask, Response, current_app, render_template, request
from sqlalchemy import orm
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from lti_tool.runtime import db, runtime
from lti_tool.services.badge_verify import (
    CHECK_TITLES,
    MAX_IMAGE_BYTES,
    MAX_JSON_BYTES,
    ChainedLookup,
    LocalLookup,
    Lookup,
    RemoteLookup,
    Report,
    UnreadableBadgeError,
    inspect,
    verify_http,
)

bp = Blueprint("verify", __name__)
log = logging.getLogger("lti_tool.verify")

# One image plus the text fields and the multipart framing.
MAX_REQUEST_BYTES = MAX_IMAGE_BYTES + MAX_JSON_BYTES + 64 * 1024
# The largest text field (the pasted JSON); werkzeug answers 413 beyond it.
MAX_FIELD_BYTES = MAX_JSON_BYTES + 1024
MAX_URL_LENGTH = 2048
MAX_EMAIL_LENGTH = 320  # RFC 5321: 64 + 1 + 255
_LIMITER = "tierpath.verify_limiter"
_HTTP = "tierpath.verify_http"
_HTTP_URL = re.compile(r"https?://\S+", re.IGNORECASE)


class SlidingWindowLimiter:
    """At most ``limit`` hits per ``window`` seconds for each key (a client address).

    Refused hits do not count. Keys idle for a window are forgotten; beyond
    ``max_keys`` the oldest keys go first, so memory stays bounded.
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count a hit; return None if allowed, else the seconds until one is."""
        with self._lock:
            now = self._clock()
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self._max_keys:
                    self._forget_idle(now)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return hits[0] + self.window - now
            hits.append(now)
            return None

    def _forget_idle(self, now: float) -> None:
        idle = [
            key for key, hits in self._hits.items() if hits[-1] <= now - self.window
        ]
        for key in idle:
            del self._hits[key]
        while len(self._hits) >= self._max_keys:
            del self._hits[next(iter(self._hits))]


def _in_memory_stream(
    total_content_length: int | None,
    content_type: str | None,
    filename: str | None,
    content_length: int | None = None,
) -> IO[bytes]:
    return BytesIO()


class InMemoryFormDataParser(FormDataParser):
    """Werkzeug's form parser, with uploaded files kept in memory.

    The default stream factory spools any file over 500 KB to a
    SpooledTemporaryFile on disk; "no stored uploads" rules that out. The
    request size cap set by the view bounds the memory used.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stream_factory = _in_memory_stream


def verification_lookup(app: Flask, session: orm.Session, *, remote: bool) -> Lookup:
    """This deployment's documents first, then other sites' (unless ``remote`` is off).

    ``TIERPATH_BADGE_VERIFY_REMOTE=false`` switches fetching from other sites
    off; tests put a fake in ``BADGE_VERIFY_REMOTE_LOOKUP``.
    """
    rt = runtime(app)
    local = LocalLookup(session, rt.encryptor, rt.badge_issuer(), rt.clock())
    other: Lookup | None = None
    if remote and rt.settings.badges.verify_remote:
        configured = app.config.get("BADGE_VERIFY_REMOTE_LOOKUP")
        if configured is not None:
            other = configured
        else:
            http = app.extensions.get(_HTTP)
            if http is None:
                http = app.extensions.setdefault(
                    _HTTP, verify_http(rt.settings.http_timeout)
                )
            other = RemoteLookup(http)
    return ChainedLookup(local, other)


def _limiter() -> SlidingWindowLimiter:
    limiter = current_app.extensions.get(_LIMITER)
    if limiter is None:
        limiter = current_app.extensions.setdefault(
            _LIMITER,
            SlidingWindowLimiter(runtime().settings.badges.verify_per_minute),
        )
    assert isinstance(limiter, SlidingWindowLimiter)
    return limiter


def _page(
    status: int = 200,
    *,
    report: Report | None = None,
    error: str | None = None,
    url: str = "",
    retry_after: float | None = None,
) -> Response:
    image = None
    if report is not None and report.image:
        own = runtime().badge_issuer().origin + "/"
        # CSP allows only our own images; other issuers' would just break.
        image = report.image if report.image.lower().startswith(own) else None
    response = Response(
        render_template(
            "badges/verify.html",
            report=report,
            error=error,
            url=url,
            image=image,
            titles=CHECK_TITLES,
            max_image_mb=MAX_IMAGE_BYTES // 2**20,
            max_json_mb=MAX_JSON_BYTES // 2**20,
            per_minute=_limiter().limit,
            launch=None,
        ),
        status=status,
    )
    response.headers["Cache-Control"] = "no-store"
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


def _over_limit() -> Response | None:
    wait = _limiter().hit(request.remote_addr or "unknown")
    if wait is None:
        return None
    log.info("verify rate limit reached for a client; retry after %.0f s", wait)
    return _page(
        429,
        error=(
            f"You have checked {_limiter().limit} badges in the last minute, the most"
            f" this page allows. Please wait {max(1, math.ceil(wait))} seconds and"
            " try again."
        ),
        retry_after=wait,
    )


def _run(
    data: bytes | str, *, email: str | None, source: str, url: str = ""
) -> Response:
    rt = runtime()
    lookup = verification_lookup(current_app, db(), remote=True)
    try:
        report = inspect(
            data, lookup=lookup, now=rt.clock(), email=email, source=source
        )
    except UnreadableBadgeError as exc:
        log.info("verify: unreadable input (%s)", source)
        return _page(400, error=str(exc), url=url)
    log.info("verify: %s read from %s", report.verdict.value, source)
    return _page(report=report, url=url)


@bp.get("/verify")
def form() -> Response:
    """The form; with ``?url=`` (a link from a credential page) it checks at once."""
    url = request.args.get("url", "").strip()
    if not url:
        return _page()
    if len(url) > MAX_URL_LENGTH or not _HTTP_URL.fullmatch(url):
        return _page(400, error="That is not a web address starting with https://.")
    return _over_limit() or _run(url, email=None, source="the web address", url=url)


@bp.post("/verify")
def check() -> Response:
    """Check what was pasted, uploaded or linked, and show the report."""
    limited = _over_limit()
    if limited is not None:
        return limited  # before reading the body
    request.max_content_length = MAX_REQUEST_BYTES
    request.max_form_memory_size = MAX_FIELD_BYTES
    request.max_form_parts = 10
    request.form_data_parser_class = InMemoryFormDataParser
    try:
        form, files = request.form, request.files
    except RequestEntityTooLarge:
        return _page(
            413,
            error=(
                f"What you sent is too large: badge images up to {MAX_IMAGE_BYTES // 2**20}"
                f" MB and pasted JSON up to {MAX_JSON_BYTES // 2**20} MB are accepted."
            ),
        )
    pasted = form.get("credential", "").strip()
    url = form.get("url", "").strip()
    email = form.get("email", "").strip() or None
    upload = files.get("file")
    data = b""
    if upload is not None and upload.filename:
        data = upload.stream.read(MAX_IMAGE_BYTES + 1)
        if not data:
            return _page(400, error="The file you chose is empty.", url=url)
    given = [
        name
        for name, value in (("file", data), ("text", pasted), ("url", url))
        if value
    ]
    if not given:
        return _page(
            400,
            error="Paste a credential, choose a badge file or give the credential's"
            " web address.",
            url=url,
        )
    if len(given) > 1:
        return _page(
            400,
            error="Give only one of these: pasted JSON, a file or a web address.",
            url=url,
        )
    if email is not None and (len(email) > MAX_EMAIL_LENGTH or "@" not in email):
        return _page(400, error="That email address does not look right.", url=url)
    if data:
        return _run(data, email=email, source="the uploaded file")
    if pasted:
        return _run(pasted, email=email, source="the pasted text")
    if len(url) > MAX_URL_LENGTH or not _HTTP_URL.fullmatch(url):
        return _page(
            400, error="That is not a web address starting with https://.", url=""
        )
    return _run(url, email=email, source="the web address", url=url)
