"""Who may call the page: an ASGI middleware in front of every route.

In order, for every HTTP request:

1. **Host.** Bound to a loopback address, the page answers only requests whose ``Host`` is a loopback name
   (``localhost``, ``127.x.x.x``, ``[::1]``), so a web site that rebinds its DNS name to 127.0.0.1 cannot
   read it (421 otherwise).
2. **Token.** With ``web.auth_token`` set, every request needs ``Authorization: Bearer <token>`` or basic
   auth whose password is the token (401 with a basic-auth challenge, so a browser asks once).
3. **Cross-site requests.** A state-changing request (anything but GET, HEAD, OPTIONS) is refused (403)
   when the browser says it comes from another site (``Sec-Fetch-Site``), when its ``Origin`` is not this
   page's, or when it lacks a header a cross-site form cannot send: ``Tus-Resumable`` (uploads) or
   ``X-Spoolbridge-Request``. No CORS header is ever sent, so no other site can pass a preflight for them.
   Every request under ``/api/`` costs the server something (an OpenSearch query, a Kafka reader, a
   stream held open), so a GET or HEAD there is refused in the same way when ``Sec-Fetch-Site`` or
   ``Origin`` says another site sent it (``fetch(..., {mode: "no-cors"})``, an ``<img>``); only the page
   itself (``/``, ``/static/``) may be linked to from elsewhere.

Every response also gets headers that keep the page out of frames and off other sites' scripts. The token
is compared in constant time and never logged or echoed.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schemas.settings import WebSettings

__all__ = ["CSRF_HEADER", "Guard"]

log = logging.getLogger(__name__)

CSRF_HEADER = "X-Spoolbridge-Request"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
}


class Guard:
    """Wraps ``app`` with the three checks of the module docstring."""

    def __init__(self, app: ASGIApp, web: WebSettings) -> None:
        self.app = app
        self.loopback_only = web.is_loopback
        self.token = web.auth_token.get_secret_value().encode("utf-8") if web.auth_token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            status, reason, extra = refusal
            log.info(
                "method=%s path=%s status=%d event=refused reason=%r",
                scope["method"],
                scope["path"],
                status,
                reason,
            )
            response = PlainTextResponse(
                reason + "\n", status_code=status, headers={**_SECURITY_HEADERS, **extra}
            )
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for name, value in _SECURITY_HEADERS.items():
                    out.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: Scope, headers: Headers) -> tuple[int, str, dict[str, str]] | None:
        host = headers.get("host", "")
        if self.loopback_only and not _is_loopback_host(host):
            return (
                421,
                "this page answers only at localhost or 127.0.0.1 (web.host is a loopback address)",
                {},
            )
        if self.token is not None and not self._authorised(headers.get("authorization", "")):
            challenge = {"WWW-Authenticate": 'Basic realm="spoolbridge", charset="UTF-8"'}
            return (
                401,
                "this page needs the token of web.auth_token (as the password; any user name)",
                challenge,
            )
        if scope["method"] not in _SAFE_METHODS:
            return _cross_site(scope, headers, host)
        if scope["path"].startswith("/api/"):
            return _from_another_site(scope, headers, host)
        return None

    def _authorised(self, authorization: str) -> bool:
        assert self.token is not None
        scheme, _, value = authorization.partition(" ")
        given = b""
        if scheme.lower() == "bearer":
            given = value.strip().encode("utf-8")
        elif scheme.lower() == "basic":
            try:
                given = base64.b64decode(value.strip(), validate=True).partition(b":")[2]
            except (binascii.Error, ValueError):
                return False
        return bool(given) and hmac.compare_digest(given, self.token)


def _from_another_site(scope: Scope, headers: Headers, host: str) -> tuple[int, str, dict[str, str]] | None:
    """403 when the browser says another site (or another origin) sent the request."""
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return 403, f"refused a {scope['method']} request from another site (Sec-Fetch-Site: {site})", {}
    origin = headers.get("origin")
    scheme = scope.get("scheme", "http")
    if origin is not None and origin != f"{scheme}://{host}":
        return 403, f"refused a {scope['method']} request from another origin ({origin!r})", {}
    return None


def _cross_site(scope: Scope, headers: Headers, host: str) -> tuple[int, str, dict[str, str]] | None:
    refusal = _from_another_site(scope, headers, host)
    if refusal is not None:
        return refusal
    if "tus-resumable" not in headers and CSRF_HEADER.lower() not in headers:
        return 403, f"a {scope['method']} request needs the header {CSRF_HEADER} (the page sends it)", {}
    return None


def _is_loopback_host(host: str) -> bool:
    """``Host`` header names this machine: localhost, 127.x.x.x or [::1], with any port."""
    if host.startswith("["):
        name = host[1:].partition("]")[0]
    else:
        name = host.rpartition(":")[0] if ":" in host else host
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
