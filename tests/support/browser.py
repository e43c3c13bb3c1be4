"""A scripted browser over real HTTP: follows redirects, submits auto-post forms.

Cookies follow browser rules closely enough for LTI: `Secure` cookies are sent
to loopback origins over plain HTTP, as Chromium and Firefox treat localhost as a
secure context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookiejar import Cookie, DefaultCookiePolicy
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.request import Request

import requests
from requests.cookies import get_cookie_header

_LOOPBACK = ("localhost", "127.0.0.1", "::1")


class LoopbackIsSecure(DefaultCookiePolicy):
    """Send Secure cookies to loopback hosts over http, like real browsers do."""

    def return_ok_secure(self, cookie: Cookie, request: Request) -> bool:
        if urlsplit(request.get_full_url()).hostname in _LOOPBACK:
            return True
        return bool(super().return_ok_secure(cookie, request))


@dataclass
class Form:
    """One HTML form: where it posts and its named fields."""

    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    autosubmit: bool = False


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._script = False
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                Form(values.get("action", ""), values.get("method", "get").lower())
            )
            self.forms[-1].autosubmit = values.get("id", "") != ""
        elif tag == "input" and self.forms and values.get("name"):
            kind = values.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in values:
                return
            self.forms[-1].fields.append((values["name"], values.get("value", "")))
        elif tag == "script":
            self._script = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = False

    def handle_data(self, data: str) -> None:
        if self._script:
            self.scripts.append(data)


def forms_in(html: str) -> tuple[list[Form], str]:
    """Return the forms of a page and its inline script text."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms, "".join(parser.scripts)


class _BrowserSession(requests.Session):
    """A requests session whose Cookie header honours our jar's policy.

    requests builds each request's cookies from a fresh jar with the default
    policy, so the header is rebuilt here from the session's own jar.
    """

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        prepared = super().prepare_request(request)
        self._cookie_header(prepared)
        return prepared

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        # Called on every redirect after requests rebuilt the Cookie header.
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]
        self._cookie_header(prepared_request)

    def _cookie_header(self, prepared: requests.PreparedRequest) -> None:
        prepared.headers.pop("Cookie", None)
        header = get_cookie_header(self.cookies, prepared)  # type: ignore[no-untyped-call]
        if header:
            prepared.headers["Cookie"] = header


class Browser:
    """requests plus the two things an LTI browser does: cookies and auto-posts."""

    def __init__(self) -> None:
        self.http = _BrowserSession()
        self.http.trust_env = False  # no proxy lookups: loopback only
        self.http.cookies.set_policy(LoopbackIsSecure())
        self.history: list[str] = []

    def open(self, url: str, **kwargs: Any) -> requests.Response:
        """GET a URL and keep going through redirects and auto-submitting forms."""
        return self._settle(self.http.get(url, timeout=10, **kwargs))

    def submit(
        self,
        response: requests.Response,
        form_index: int = 0,
        **overrides: str | list[str],
    ) -> requests.Response:
        """Submit a form on a page (with field overrides) and settle the result."""
        forms, _ = forms_in(response.text)
        form = forms[form_index]
        data: dict[str, Any] = {}
        for name, value in form.fields:
            data.setdefault(name, []).append(value)
        data.update(
            {k: v if isinstance(v, list) else [v] for k, v in overrides.items()}
        )
        target = urljoin(response.url, form.action)
        return self._settle(self.http.post(target, data=data, timeout=10))

    def _settle(self, response: requests.Response) -> requests.Response:
        for _ in range(10):
            self.history.extend(r.url for r in response.history)
            self.history.append(response.url)
            forms, scripts = forms_in(response.text) if _is_html(response) else ([], "")
            auto = [f for f in forms if f.autosubmit and ".submit()" in scripts]
            if not auto:
                return response
            form = auto[0]
            target = urljoin(response.url, form.action)
            response = self.http.post(target, data=form.fields, timeout=10)
        raise AssertionError("too many auto-submitting forms")


def _is_html(response: requests.Response) -> bool:
    return "text/html" in response.headers.get("Content-Type", "")
