"""The one way tierpath talks HTTP: a requests session that always has timeouts."""

from __future__ import annotations

from typing import Any

import requests

USER_AGENT = "tierpath/0.1 (+LTI 1.3 tool)"


class TimeoutSession(requests.Session):
    """A requests session that applies a default (connect, read) timeout to every call.

    Every outbound call goes through one of these, so none can hang a worker.
    """

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout
        self.headers["User-Agent"] = USER_AGENT

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, *args, **kwargs)
