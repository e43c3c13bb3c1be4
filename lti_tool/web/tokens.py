"""Per-process LTI Advantage plumbing: the token cache and the tool's current key."""

from __future__ import annotations

from lti_tool.lti.advantage import TokenCache
from lti_tool.runtime import db, runtime
from lti_tool.services import keys as key_service


def token_cache() -> TokenCache:
    """Return this application's token cache (one per process)."""
    return runtime().tokens


def tool_key() -> key_service.ActiveKey:
    """Return the current signing key, generating the first pair on first run."""
    rt = runtime()
    session = db()
    if key_service.ensure_keys(session, rt.encryptor, rt.clock()):
        session.commit()
    return key_service.current_key(session, rt.encryptor)
