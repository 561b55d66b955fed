"""Drained means nothing left to read: a partition with unread records that delivers none while nothing
holds it paused is resumed again (librdkafka can lose a resume: confluentinc/librdkafka#5591), and the
consumer does not call itself idle."""

from __future__ import annotations

from typing import Any

from consumer.runner import Runner


class _Consumer:
    def __init__(self) -> None:
        self.resumed: list[list[tuple[str, int]]] = []

    def resume(self, partitions: list[Any]) -> None:
        self.resumed.append([(tp.topic, tp.partition) for tp in partitions])


class _Meter:
    def __init__(self, lag: int | None) -> None:
        self._lag = lag

    def unread(self, partitions: Any, position: Any) -> int | None:
        return self._lag


class _Tracker:
    def finished_to(self, tp: Any) -> int | None:
        return None


def _runner(
    lag: int | None, owned: set[tuple[str, int]], paused: set[tuple[str, int]]
) -> tuple[Runner, _Consumer]:
    runner = object.__new__(Runner)  # only the state the decision reads
    consumer = _Consumer()
    runner._consumer = consumer  # type: ignore[assignment]
    runner._meter = _Meter(lag)  # type: ignore[assignment]
    runner._tracker = _Tracker()  # type: ignore[assignment]
    runner._owned = owned
    runner._paused = paused
    return runner, consumer


def test_unread_records_resume_the_partitions_nothing_holds_paused() -> None:
    runner, consumer = _runner(1000, {("t", 0), ("t", 1)}, {("t", 1)})
    assert runner._unread_yet_quiet() is True
    assert consumer.resumed == [[("t", 0)]]


def test_no_lag_or_an_unknown_lag_is_drained() -> None:
    for lag in (0, None):
        runner, consumer = _runner(lag, {("t", 0)}, set())
        assert runner._unread_yet_quiet() is False
        assert consumer.resumed == []


def test_finished_to_is_the_next_offset_to_read_before_any_commit() -> None:
    from consumer.offsets import OffsetTracker

    tracker = OffsetTracker()
    assert tracker.finished_to(("t", 0)) is None
    for offset in (5, 6):
        tracker.track(("t", 0), offset)
    tracker.finish(("t", 0), 5)
    tracker.finish(("t", 0), 6)
    assert (tracker.finished_to(("t", 0)), tracker.committed(("t", 0))) == (7, None)
    tracker.mark_committed({("t", 1): 40})
    assert tracker.finished_to(("t", 1)) == 40
