"""The connection rules, without a socket: which connections the header and body timeouts close, and which
one a new connection over the limit pushes out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import h11

from spoolbridge.web.connections import RESERVED_DESCRIPTORS, ConnectionRules, connection_limit


@dataclass
class FakeTransport:
    closed: bool = False

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeCycle:
    response_complete: bool


@dataclass(eq=False)
class FakeConnection:
    """What the rules read of uvicorn's protocol object."""

    state: Any = h11.IDLE
    cycle: FakeCycle | None = None
    waiting_since: float = 0.0
    last_data_at: float = 0.0
    transport: FakeTransport = field(default_factory=FakeTransport)
    loop: Any = None

    @property
    def conn(self) -> Any:
        return self

    @property
    def their_state(self) -> Any:
        return self.state


class _Rules(ConnectionRules):
    def _schedule(self, loop: Any) -> None:  # no event loop in these tests
        pass


def test_headers_not_complete_in_time_and_a_silent_body_are_closed_an_answer_being_made_is_not() -> None:
    rules = _Rules(100, header_timeout_secs=10, body_timeout_secs=30)
    half_open = FakeConnection(waiting_since=0)
    fresh = FakeConnection(waiting_since=5)
    silent_body = FakeConnection(h11.SEND_BODY, FakeCycle(False), last_data_at=0)
    slow_body = FakeConnection(h11.SEND_BODY, FakeCycle(False), last_data_at=25)
    answering = FakeConnection(h11.DONE, FakeCycle(False), waiting_since=0, last_data_at=0)
    for connection in (half_open, fresh, silent_body, slow_body, answering):
        assert rules.opened(connection)
    assert rules.overdue(now=31) == [half_open, fresh, silent_body]
    assert rules.overdue(now=11) == [half_open]


def test_a_connection_over_the_limit_closes_the_oldest_one_not_in_a_request() -> None:
    rules = _Rules(3, header_timeout_secs=10, body_timeout_secs=30)
    busy = FakeConnection(h11.SEND_BODY, FakeCycle(False))
    idle = FakeConnection(cycle=FakeCycle(True))  # answered, waiting for its next request
    half_open = FakeConnection()
    for connection in (busy, idle, half_open):
        assert rules.opened(connection)
    newest = FakeConnection()
    assert rules.opened(newest)
    assert idle.transport.closed and not busy.transport.closed and not half_open.transport.closed
    assert list(rules.open) == [busy, half_open, newest]


def test_when_every_connection_is_in_a_request_the_new_one_is_refused() -> None:
    rules = _Rules(2, header_timeout_secs=10, body_timeout_secs=30)
    for _ in range(2):
        assert rules.opened(FakeConnection(h11.SEND_BODY, FakeCycle(False)))
    assert not rules.opened(FakeConnection())
    assert len(rules.open) == 2


def test_the_limit_stays_below_the_open_file_limit() -> None:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert connection_limit(10**9) == soft - RESERVED_DESCRIPTORS
    assert connection_limit(16) == 16
