"""AGS 2.0 over HTTP: find or create a line item by resourceId + tag, post a score.

pylti1p3 gives us the access token (client assertion, cached per issuer,
client id, token URL and scopes); the requests are ours so every failure has
a status, the retryable ones (429, 5xx, timeouts, connection errors) are told
apart from the final ones, and `Link: rel="next"` paging keeps the URL's case
(pylti1p3 lower-cases it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from pylti1p3.exception import LtiServiceException

from lti_tool.lti.advantage import CachedTokenConnector

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
CONTAINER_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
_MAX_PAGES = 50


class GradebookError(Exception):
    """The LMS refused or could not be reached; `retryable` says whether to try again."""

    def __init__(self, message: str, *, status: int | None, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def scores_url(lineitem_url: str) -> str:
    """The line item's scores endpoint (AGS §3.4: `{lineitem}/scores`, query kept)."""
    parts = urlsplit(lineitem_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


@dataclass(frozen=True)
class LineItemSpec:
    """The line item a score belongs to (AGS §3.2)."""

    resource_id: str
    tag: str
    label: str
    score_maximum: float
    resource_link_id: str | None = None
    submission_review: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "scoreMaximum": self.score_maximum,
            "label": self.label,
            "resourceId": self.resource_id,
            "tag": self.tag,
        }
        if self.resource_link_id:
            body["resourceLinkId"] = self.resource_link_id
        if self.submission_review:
            body["submissionReview"] = self.submission_review
        return body


class GradebookClient:
    """AGS calls for one platform registration, with timeouts on every request."""

    def __init__(
        self,
        connector: CachedTokenConnector,
        http: requests.Session,
        timeout: tuple[float, float],
    ) -> None:
        self._connector = connector
        self._http = http
        self._timeout = timeout

    def _token(self, scopes: list[str]) -> str:
        try:
            return self._connector.get_access_token(scopes)
        except LtiServiceException as error:
            status = error.response.status_code
            raise GradebookError(
                f"token endpoint answered {status}: {error.response.text[:300]}",
                status=status,
                retryable=status == 429 or status >= 500,
            ) from error
        except requests.RequestException as error:
            raise GradebookError(
                f"token endpoint unreachable: {error}", status=None, retryable=True
            ) from error

    def _call(
        self,
        method: str,
        url: str,
        scopes: list[str],
        *,
        accept: str,
        body: dict[str, Any] | None = None,
        content_type: str | None = None,
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {self._token(scopes)}", "Accept": accept}
        data = None
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
            data = json.dumps(body)
        try:
            response = self._http.request(
                method, url, headers=headers, data=data, timeout=self._timeout
            )
        except requests.RequestException as error:
            raise GradebookError(
                f"{method} {url} failed: {error}", status=None, retryable=True
            ) from error
        if response.status_code == 401:
            self._connector.forget_token(scopes)
        if not response.ok:
            status = response.status_code
            raise GradebookError(
                f"{method} {url} answered {status}: {response.text[:300]}",
                status=status,
                retryable=status in (401, 408, 429) or status >= 500,
            )
        return response

    def find_or_create(
        self, lineitems_url: str, scopes: list[str], spec: LineItemSpec
    ) -> str:
        """Return the URL of the line item with this resourceId and tag, creating it."""
        url: str | None = _with_query(
            lineitems_url, resource_id=spec.resource_id, tag=spec.tag
        )
        pages = 0
        while url and pages < _MAX_PAGES:
            response = self._call("GET", url, scopes, accept=CONTAINER_TYPE)
            items = response.json()
            if not isinstance(items, list):
                raise GradebookError(
                    "the line item list is not a JSON array",
                    status=200,
                    retryable=False,
                )
            for item in items:
                # Filters are optional for platforms: check both ourselves.
                if (
                    isinstance(item, dict)
                    and item.get("resourceId") == spec.resource_id
                    and item.get("tag") == spec.tag
                    and isinstance(item.get("id"), str)
                ):
                    return str(item["id"])
            url = response.links.get("next", {}).get("url")
            pages += 1
        response = self._call(
            "POST",
            lineitems_url,
            scopes,
            accept=LINEITEM_TYPE,
            body=spec.body(),
            content_type=LINEITEM_TYPE,
        )
        created = response.json()
        if not isinstance(created, dict) or not isinstance(created.get("id"), str):
            raise GradebookError(
                "the created line item has no id",
                status=response.status_code,
                retryable=False,
            )
        return str(created["id"])

    def post_score(
        self, lineitem_url: str, scopes: list[str], score: dict[str, Any]
    ) -> None:
        """POST one score (AGS §3.4) to the line item."""
        self._call(
            "POST",
            scores_url(lineitem_url),
            scopes,
            accept="application/json",
            body=score,
            content_type=SCORE_TYPE,
        )
