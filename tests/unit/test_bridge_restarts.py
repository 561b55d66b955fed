"""When ``spoolbridge run`` starts an exited child again (pure logic, a real clock moved by monkeypatch)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rich.console import Console

from spoolbridge import bridge
from spoolbridge.bridge import _Restarts


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [100.0]
    monkeypatch.setattr(bridge, "time", SimpleNamespace(monotonic=lambda: now[0]))
    return now


def test_a_child_that_cannot_start_stops_run_a_killed_or_later_one_is_restarted(clock: list[float]) -> None:
    restarts = _Restarts(started=100.0)
    clock[0] = 103.0
    assert not restarts.may_restart("producer", 2)  # a setting error right away: run stops
    assert restarts.may_restart("producer", -9)  # killed: started again
    assert not restarts.may_restart("page", -9)  # its socket is bound once
    clock[0] = 200.0
    assert restarts.may_restart("consumer", 1)


def test_restarts_back_off_while_the_child_keeps_exiting(clock: list[float]) -> None:
    restarts, quiet = _Restarts(started=0.0), Console(quiet=True)
    delays = []
    for _ in range(6):
        start = clock[0]
        while not restarts.due("producer", 1, quiet):
            clock[0] += 0.5
        delays.append(clock[0] - start)
        clock[0] += 1.0  # it exits again a second after its restart
    assert delays == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]
    clock[0] += 120.0  # it ran for two minutes: the next restart is quick again
    start = clock[0]
    while not restarts.due("producer", 1, quiet):
        clock[0] += 0.5
    assert clock[0] - start == 5.0
