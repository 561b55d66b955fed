"""``spoolbridge web``: check the binding rules, bind, and serve the page with uvicorn until stopped.

The rule: the page binds to a loopback address unless ``web.auth_token`` is set; any other address without
it is refused with one line naming the setting (exit 2), before a socket is opened. Every connection keeps
the header and body timeouts and the connection limit of :mod:`.connections`.
"""

from __future__ import annotations

import errno
import logging
import socket

from schemas.errors import ConfigError
from schemas.settings import Settings, WebSettings
from schemas.signals import on_stop_signals

from .connections import ACCEPT_BACKLOG

__all__ = ["bind", "check_bind", "page_url", "serve"]

log = logging.getLogger(__name__)


def check_bind(web: WebSettings) -> None:
    """Raise :class:`ConfigError` when ``web.host`` is reachable from other machines and no token is set."""
    if not web.is_loopback and web.auth_token is None:
        raise ConfigError(
            "web.auth_token",
            f"web.host {web.host} lets other machines reach the upload page, so it needs a token: set "
            "web.auth_token (e.g. SPOOLBRIDGE_WEB__AUTH_TOKEN), or bind to 127.0.0.1",
        )


def bind(web: WebSettings) -> socket.socket:
    """A listening socket for ``web.host:web.port``; raises :class:`ConfigError` naming the setting when
    the address cannot be had (in use, not this machine's)."""
    check_bind(web)
    family = socket.AF_INET6 if ":" in web.host else socket.AF_INET
    # proto IPPROTO_TCP, not 0 (what socket.create_server gives): asyncio sets TCP_NODELAY only on sockets
    # that say they are TCP, and without it every keep-alive answer waits ~40 ms for a delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((web.host, web.port))
        sock.listen(ACCEPT_BACKLOG)
    except OSError as exc:
        sock.close()
        setting = "web.port" if exc.errno == errno.EADDRINUSE else "web.host"
        raise ConfigError(setting, f"cannot listen on {web.host}:{web.port} ({exc.strerror})") from None
    return sock


def page_url(web: WebSettings, port: int) -> str:
    """The address to open: ``web.host`` with the port actually bound (IPv6 in brackets)."""
    return web.model_copy(update={"port": port}).url


def serve(settings: Settings, *, debug: bool = False, socket_fd: int | None = None) -> int:
    """Serve the page until SIGINT/SIGTERM; prints its address (with the real port when ``web.port`` is 0).

    ``socket_fd``: a listening socket inherited from ``spoolbridge run``, which binds it itself so that
    its banner shows the real address and a refused binding stops it before any child starts.
    """
    import uvicorn

    from .app import create_app
    from .connections import ConnectionRules, limited_protocol

    sock = bind(settings.web) if socket_fd is None else socket.socket(fileno=socket_fd)
    port = sock.getsockname()[1]
    url = page_url(settings.web, port)
    print(f"spoolbridge web: serving {url} (inbox {settings.producer.inbox.absolute()})", flush=True)
    config = uvicorn.Config(
        create_app(settings),
        log_config=None,
        access_log=debug,
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=5,  # an open progress stream must not hold up a stop
        http=limited_protocol(ConnectionRules.of(settings.web)),
        backlog=ACCEPT_BACKLOG,  # asyncio accepts up to this many at once: they must fit the reserve
    )
    # uvicorn stops gracefully on SIGTERM/SIGINT, then raises the signal again to the handler it found: a
    # no-op one here, so a stop that was asked for exits 0, as produce and consume do
    with on_stop_signals(lambda sig: None):
        uvicorn.Server(config).run(sockets=[sock])
    return 0
