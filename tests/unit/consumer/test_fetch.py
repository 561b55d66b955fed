"""The loop never waits for a whole batch: what arrived is taken at once, an idle member waits for one
message and takes what came with it (consumer/runner.py, ``Runner._fetch``). No clock, no broker: a
stand-in records each ``consume(count, wait)`` call."""

from __future__ import annotations

from typing import Any, cast

from confluent_kafka import Message

from consumer.runner import Runner
from schemas.settings import load_settings

MAX_EVENTS = 100


class Broker:
    """``consume`` stand-in: ``waiting`` messages are there; ``arriving`` ones come during a wait."""

    def __init__(self, waiting: int = 0, arriving: int = 0) -> None:
        self.queue = [msg(n) for n in range(waiting)]
        self.arriving = [msg(n) for n in range(waiting, waiting + arriving)]
        self.calls: list[tuple[int, float]] = []

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        self.calls.append((num_messages, timeout))
        if not self.queue and timeout > 0:
            self.queue, self.arriving = self.arriving, []
        taken, self.queue = self.queue[:num_messages], self.queue[num_messages:]
        return taken


def msg(offset: int) -> Message:
    return Message(topic="t", partition=offset % 3, offset=offset, key=b"k", value=b"{}")


def runner(broker: Broker) -> Runner:
    settings = load_settings({"consumer": {"max_events": MAX_EVENTS}})
    return Runner(settings, cast(Any, broker), cast(Any, None), cast(Any, None))


def test_messages_already_there_are_taken_without_waiting() -> None:
    broker = Broker(waiting=250)
    assert len(runner(broker)._fetch(0.0)) == MAX_EVENTS
    assert broker.calls == [(MAX_EVENTS, 0)]


def test_an_idle_member_waits_for_one_message_then_takes_what_came_with_it() -> None:
    broker = Broker(arriving=10)
    fetched = runner(broker)._fetch(0.0)
    assert [m.offset() for m in fetched] == list(range(10))  # in one piece: every partition's share
    assert broker.calls[0] == (MAX_EVENTS, 0)
    assert broker.calls[1][0] == 1 and broker.calls[1][1] > 0
    assert broker.calls[2] == (MAX_EVENTS - 1, 0)


def test_nothing_arriving_ends_the_wait_with_nothing() -> None:
    broker = Broker()
    assert runner(broker)._fetch(0.0) == []
    assert len(broker.calls) == 2
