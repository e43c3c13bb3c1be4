"""LTI Platform Storage (client-side postMessages) settings of devlms.

When devlms frames a tool it can offer the tool a place to keep its OIDC
``state`` and ``nonce`` in the browser (1EdTech "LTI Client Side
postMessages" / "Platform Storage"): the login initiation request and the
launch form then carry ``lti_storage_target`` and the framing devlms page
answers ``lti.capabilities``, ``lti.put_data`` and ``lti.get_data``.

Modes:

``parent``  (default) ``lti_storage_target=_parent``: the page that embeds the
            tool iframe answers the messages itself;
``frame``   ``lti_storage_target=devlms_storage``: a hidden sibling iframe of
            that name answers ``lti.put_data``/``lti.get_data`` (as Canvas's
            ``post_message_forwarding`` frame does); the parent answers only
            ``lti.capabilities``;
``off``     nothing is offered and nobody answers (as on platforms without
            Platform Storage): the tool must fall back to cookies.

The mode comes from ``DevLmsConfig.platform_storage`` (environment variable
``DEVLMS_PLATFORM_STORAGE``), can be switched per browser session on the
course page and per launch with the ``storage`` query parameter.
"""

from __future__ import annotations

import os

STORAGE_ENV = "DEVLMS_PLATFORM_STORAGE"
STORAGE_FRAME_NAME = "devlms_storage"
STORAGE_PARENT_TARGET = "_parent"
STORAGE_MODES = ("parent", "frame", "off")

_ALIASES = {
    "parent": "parent",
    "_parent": "parent",
    "1": "parent",
    "on": "parent",
    "true": "parent",
    "yes": "parent",
    "frame": "frame",
    STORAGE_FRAME_NAME: "frame",
    "off": "off",
    "0": "off",
    "false": "off",
    "no": "off",
    "none": "off",
}


def parse_storage_mode(value: str | None) -> str | None:
    """Normalise a mode spelling (``0``, ``off``, ``1``, ``parent``, ``frame``…).

    Returns None for an unknown spelling (and for None).
    """
    if value is None:
        return None
    return _ALIASES.get(value.strip().lower())


def storage_mode_from_env() -> str:
    """Default mode: ``DEVLMS_PLATFORM_STORAGE`` (unset or empty = ``parent``)."""
    raw = os.environ.get(STORAGE_ENV, "")
    if not raw.strip():
        return "parent"
    mode = parse_storage_mode(raw)
    if mode is None:
        raise ValueError(f"{STORAGE_ENV}={raw!r}: use 0/off, 1/parent or frame")
    return mode


def storage_target(mode: str | None) -> str | None:
    """The ``lti_storage_target`` value for a mode (None when off)."""
    if mode == "parent":
        return STORAGE_PARENT_TARGET
    if mode == "frame":
        return STORAGE_FRAME_NAME
    return None
