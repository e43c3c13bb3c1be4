"""Same-origin checks for URLs the platform hands us."""

from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """Return scheme://host[:port] of an absolute http(s) URL, normalised, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def is_on_origin(url: str, origin: str) -> bool:
    """Tell whether `url` is an absolute URL on exactly `origin`."""
    return origin_of(url) == origin_of(origin)


def local_path(url: str) -> str:
    """Return the path and query of a URL (for redirecting on our own origin)."""
    parts = urlsplit(url)
    # Collapse leading slashes (and backslashes, which browsers read as slashes):
    # "//evil.example/x" would be a network-path reference to another host.
    path = "/" + parts.path.replace("\\", "/").lstrip("/")
    return f"{path}?{parts.query}" if parts.query else path
