"""Out to OpenSearch Dashboards: a link to Discover on a dataset's index, when ``web.dashboards_url`` is set.

Discover opens an index through an index pattern. The link names the pattern whose id is the index's own
name; the README says how to create it (one request to the Dashboards saved-objects API). The link never
carries credentials: a user name and password in the setting are left out of it.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["discover_url"]


def _rison(text: str) -> str:
    """A Rison string (the encoding Dashboards' URLs use): quoted, ``'`` and ``!`` escaped with ``!``."""
    return "'" + text.replace("!", "!!").replace("'", "!'") + "'"


def discover_url(dashboards_url: str | None, index: str) -> str | None:
    """Discover on the index pattern ``index`` (all time), or None when no Dashboards address is set."""
    if not dashboards_url:
        return None
    parts = urlsplit(dashboards_url.strip())
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    base = urlunsplit((parts.scheme or "https", netloc, parts.path.rstrip("/"), "", ""))
    state = (
        "(discover:(columns:!(_source),isDirty:!f,sort:!()),"
        f"metadata:(indexPattern:{_rison(index)},view:discover))"
    )
    return f"{base}/app/data-explorer/discover#?_a={state}&_g=(time:(from:now-100y,to:now))"
