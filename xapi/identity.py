"""An agent's inverse functional identifier (IFI) as one comparable string.

xAPI (Data 2.4.2.1) identifies an Agent by exactly one IFI: mbox,
mbox_sha1sum, openid or account (homePage + name). The local store indexes the
actor by this key, and the read API's `agent` filter matches on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class AgentError(ValueError):
    """The JSON is not an Agent with exactly one inverse functional identifier."""


def agent_key(agent: Mapping[str, Any]) -> str:
    """Return the IFI key of an Agent: `account:<homePage> <name>`, `mbox:<mailto:…>`…"""
    if not isinstance(agent, Mapping):
        raise AgentError("an agent must be a JSON object")
    found = [k for k in ("mbox", "mbox_sha1sum", "openid", "account") if k in agent]
    if len(found) != 1:
        raise AgentError(
            "an agent needs exactly one of mbox, mbox_sha1sum, openid or account"
        )
    kind = found[0]
    value = agent[kind]
    if kind == "account":
        if not isinstance(value, Mapping):
            raise AgentError("account must be an object with homePage and name")
        home, name = value.get("homePage"), value.get("name")
        if (
            not isinstance(home, str)
            or not isinstance(name, str)
            or not home
            or not name
        ):
            raise AgentError("account needs a homePage and a name (strings)")
        return f"account:{home} {name}"
    if not isinstance(value, str) or not value:
        raise AgentError(f"{kind} must be a non-empty string")
    if kind == "mbox" and not value.startswith("mailto:"):
        raise AgentError("mbox must be a mailto: IRI")
    return f"{kind}:{value}"
