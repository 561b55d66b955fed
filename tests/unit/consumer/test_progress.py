"""The progress line (consumer/progress.py): logged when something changed, not every interval when idle."""

from __future__ import annotations

import logging

import pytest

from consumer.progress import Counters, ProgressLog


def test_an_idle_consumer_logs_its_progress_line_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="consumer.progress")
    counters = Counters()
    progress = ProgressLog(counters, 5.0, now=0.0)
    counters.fetched = counters.indexed = 100
    assert progress.log(5.0, lag=0, paused=0, in_flight=0)
    assert progress.log(10.0, lag=0, paused=0, in_flight=0)  # the rate fell to 0: that is news
    assert not progress.log(15.0, lag=0, paused=0, in_flight=0)
    assert not progress.log(20.0, lag=0, paused=0, in_flight=0)
    assert progress.log(25.0, lag=7, paused=0, in_flight=0)  # new messages arrived
    counters.fetched = counters.indexed = 107
    assert progress.log(30.0, lag=0, paused=0, in_flight=0)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4
    assert lines[0] == (
        "progress docs_per_sec=20 fetched=100 indexed=100 deleted=0 dlq=0 retries=0 requests=0 lag=0 "
        "paused_partitions=0 in_flight=0"
    )
