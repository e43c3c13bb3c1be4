"""The refusal every HTTP edge raises: a status, a reason code and plain words.

A refusal becomes a 4xx page (or JSON) carrying a support code that is also
logged, so a learner can quote it and an admin can find the cause.
"""

from __future__ import annotations

import secrets

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


def new_support_code() -> str:
    """Return a short code a person can read out, e.g. TP-7KQ9-M2XD."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"TP-{chars[:4]}-{chars[4:]}"


class Refused(Exception):
    """Raised when a request is refused; carries what the person should be told."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        hint: str | None = None,
        detail: str | None = None,
        new_window_url: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint
        # Logged only: may name internals a learner should not see.
        self.detail = detail
        self.new_window_url = new_window_url
        self.support_code = new_support_code()
