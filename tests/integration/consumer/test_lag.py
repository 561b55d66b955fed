"""The consumer's lag after a restart: a partition without a commit in this run counts from the group's
committed offset, not from the start of the partition (which printed ``lag=78`` forever while
``spoolbridge status`` said 0)."""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable

import pytest

from schemas.settings import Settings
from tests.integration.consumer.conftest import ThreadRun, committed_offsets, make_records, produce

pytestmark = pytest.mark.integration


def test_lag_after_a_restart_with_nothing_to_do_is_zero_and_said_once(
    settings_factory: Callable[..., Settings],
    consume_in_thread: Callable[..., ThreadRun],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = settings_factory(consumer={"progress_interval_secs": 0.3})
    produce(settings, make_records(78), partitions=1)
    assert consume_in_thread(settings, until_idle_secs=1.0).wait(60) == 0
    assert committed_offsets(settings, 1) == [78]

    caplog.set_level(logging.INFO, logger="consumer.progress")
    caplog.clear()
    assert consume_in_thread(settings, until_idle_secs=3.0).wait(60) == 0  # ~10 progress intervals idle

    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("progress ")]
    assert lines, "no progress line in 3 s with a 0.3 s interval"
    lags = [re.search(r" lag=(\S+)", line)[1] for line in lines]  # type: ignore[index]
    # "?" until the first fetch brought the partition's end offset (and for a moment after a rebalance,
    # which a group may have at any time); known, it is 0, never the 78 messages before the commit
    known = [lag for lag in lags if lag != "?"]
    assert known and set(known) == {"0"}, lags
    assert all(a != b for a, b in itertools.pairwise(lags)), f"logged only on a change: {lags}"
