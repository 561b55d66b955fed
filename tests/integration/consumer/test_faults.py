"""Crashes and hand-overs: the consumer as a process of its own, killed or stopped mid-load."""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schemas.settings import Settings
from tests.conftest import Endpoints
from tests.integration.consumer.conftest import (
    committed_offsets,
    end_offsets,
    index_ids,
    live_count,
    make_records,
    produce,
    settings_env,
    topic_size,
    wait_for,
)

pytestmark = pytest.mark.integration

N = 20_000


@pytest.mark.timeout(180)
def test_kill_9_mid_load_then_restart_gives_exactly_one_document_per_id(
    endpoints: Endpoints,
    settings_factory: Callable[..., Settings],
    consumer_process: Callable[..., subprocess.Popen[bytes]],
    opensearch_client: Any,
) -> None:
    settings = settings_factory(
        consumer={"max_events": 250, "progress_interval_secs": 1.0, "session_timeout_ms": 6000}
    )
    records = make_records(N)
    produce(settings, records, partitions=3)
    env = settings_env(endpoints, settings)

    first = consumer_process(env, name="killed")
    wait_for(lambda: live_count(opensearch_client, settings.index_name) >= N // 10, 60, "indexing to start")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    indexed_at_kill = live_count(opensearch_client, settings.index_name)
    assert indexed_at_kill < N, "the load finished before the kill; the test proves nothing"
    assert sum(max(o, 0) for o in committed_offsets(settings, 3)) < N

    second = consumer_process(env, until_idle_secs=3, name="restarted")
    assert second.wait(120) == 0, _log(second)

    assert set(index_ids(opensearch_client, settings.index_name)) == {key for key, _ in records}
    assert committed_offsets(settings, 3) == end_offsets(settings, 3)


@pytest.mark.timeout(180)
def test_two_consumers_share_four_partitions_and_one_stopped_mid_load_hands_over(
    endpoints: Endpoints,
    settings_factory: Callable[..., Settings],
    consumer_process: Callable[..., subprocess.Popen[bytes]],
    opensearch_client: Any,
) -> None:
    settings = settings_factory(
        consumer={"max_events": 250, "progress_interval_secs": 1.0, "session_timeout_ms": 6000}
    )
    produce(settings, [], partitions=4)
    env = settings_env(endpoints, settings)
    a = consumer_process(env, until_idle_secs=4, name="a")
    b = consumer_process(env, until_idle_secs=4, name="b")
    wait_for(lambda: _owned(a) == 2 and _owned(b) == 2, 30, "both members to own two partitions each")
    b_first_share = _current_partitions(b)

    records = make_records(N)
    produce(settings, records)
    wait_for(lambda: live_count(opensearch_client, settings.index_name) >= N // 50, 60, "indexing to start")
    a.send_signal(signal.SIGTERM)
    assert a.wait(60) == 0, _log(a)
    assert b.wait(120) == 0, _log(b)

    assert "partitions revoked" in _log(a) and "consumer stopped" in _log(a)
    assert "owned=4" in _log(b), "the survivor did not take over the stopped member's partitions"
    ends = end_offsets(settings, 4)
    assert _indexed(a) > 0
    assert _indexed(b) > sum(ends[p] for p in b_first_share), "nothing was handed over mid-load"
    assert set(index_ids(opensearch_client, settings.index_name)) == {key for key, _ in records}
    assert committed_offsets(settings, 4) == ends


def _log(proc: subprocess.Popen[bytes]) -> str:
    return str(proc.log_path.read_text(errors="replace"))  # type: ignore[attr-defined]


def _owned(proc: subprocess.Popen[bytes]) -> int | None:
    found = re.findall(r"partitions (?:assigned|revoked) .* owned=(\d+)", _log(proc))
    return int(found[-1]) if found else None


def _current_partitions(proc: subprocess.Popen[bytes]) -> set[int]:
    """The partitions ``proc`` owns now, replayed from its assigned/revoked log lines."""
    owned: set[int] = set()
    for event, tps in re.findall(r"partitions (assigned added|revoked removed)=(\S+) ", _log(proc)):
        numbers = {int(tp.rsplit("/", 1)[1]) for tp in tps.split(",") if tp != "-"}
        owned = owned | numbers if event.startswith("assigned") else owned - numbers
    return owned


def _indexed(proc: subprocess.Popen[bytes]) -> int:
    found = re.findall(r"consumer stopped fetched=\d+ indexed=(\d+)", _log(proc))
    assert found, _log(proc)
    return int(found[-1])


@pytest.mark.timeout(180)
def test_letters_written_again_after_a_kill_9_count_once_per_document(
    endpoints: Endpoints,
    settings_factory: Callable[..., Settings],
    consumer_process: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    from spoolbridge.dead_letters import list_dead_letters
    from spoolbridge.status import collect_status

    # no commit before the kill: every letter written by the first run is written again by the second
    settings = settings_factory(
        consumer={"commit_interval_secs": 120.0, "progress_interval_secs": 1.0}, producer={"inbox": tmp_path}
    )
    produce(settings, [(f"bad:{i}", b"not json {") for i in range(N)], partitions=3)
    env = settings_env(endpoints, settings)
    dlq = settings.kafka.dead_letter_topic
    first = consumer_process(env, name="killed")
    wait_for(lambda: topic_size(settings, dlq) >= N // 10, 60, "dead-lettering to start")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    written_before = topic_size(settings, dlq)
    assert written_before < N, "every letter was written before the kill; the test proves nothing"
    assert sum(max(o, 0) for o in committed_offsets(settings, 3)) == 0

    second = consumer_process(env, until_idle_secs=3, name="restarted")
    assert second.wait(120) == 0, _log(second)
    assert topic_size(settings, dlq) >= N + written_before // 2  # many of the first run's letters, twice
    (dataset,) = collect_status(settings).datasets
    assert dataset.totals["dead_lettered"] == N
    assert [group.count for group in list_dead_letters(settings)] == [N]
