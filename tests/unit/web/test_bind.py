"""The binding rule: loopback freely, any other address only with web.auth_token; refusals name it."""

from __future__ import annotations

import concurrent.futures

import pytest
from pydantic import SecretStr

from schemas.errors import ConfigError
from schemas.settings import WebSettings
from spoolbridge.web.server import check_bind


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "localhost"])
def test_loopback_needs_no_token(host: str) -> None:
    check_bind(WebSettings(host=host))


@pytest.mark.parametrize(
    "host",
    ["0.0.0.0", "::", "192.168.1.5", "example.org", "127.evil.example", "127.0.0.1.nip.io", "localhost.x"],
)
def test_other_addresses_need_the_token(host: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_bind(WebSettings(host=host))
    assert caught.value.setting == "web.auth_token"
    assert f"web.host {host} lets other machines reach the upload page" in str(caught.value)
    assert "\n" not in str(caught.value)
    check_bind(WebSettings(host=host, auth_token=SecretStr("t")))


def test_the_listening_socket_says_it_is_tcp_so_asyncio_turns_nagle_off() -> None:
    """asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP (socket.create_server's is 0);
    without it every keep-alive answer waited ~40 ms for a delayed ACK."""
    import asyncio
    import socket

    from spoolbridge.web.server import bind

    async def nodelay_of_accepted() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        listening = bind(WebSettings(port=0))
        assert listening.proto == socket.IPPROTO_TCP
        server = await asyncio.get_running_loop().create_server(Probe, sock=listening)
        async with server:
            _, writer = await asyncio.open_connection(*listening.getsockname()[:2])
            try:
                return await asyncio.wait_for(accepted, 10)
            finally:
                writer.close()

    # in a thread of its own: a session's browser tests (Playwright's sync API) may hold a running loop
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert pool.submit(lambda: asyncio.run(nodelay_of_accepted())).result(timeout=30) != 0
