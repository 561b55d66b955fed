"""No GET opens an unbounded resource (issue 16, item 2), on the real Kafka: progress for names the page
does not know opens nothing, and the dead-letter readers of known datasets are shared, bounded and closed."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from schemas.settings import Settings
from spoolbridge.web.app import create_app
from spoolbridge.web.catalog import Catalog
from spoolbridge.web.progress import MAX_DEAD_LETTER_READERS, Progress

pytestmark = pytest.mark.integration


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))  # librdkafka's threads too, which threading does not see


def _descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def _settled(count: Callable[[], int], at_most: int, timeout_secs: float = 30.0) -> int:
    """``count()`` once it is at most ``at_most`` (closing threads and sockets takes a moment), or its last
    value after ``timeout_secs``."""
    deadline = time.monotonic() + timeout_secs
    while (value := count()) > at_most and time.monotonic() < deadline:
        time.sleep(0.2)
    return value


@pytest.fixture
def client(settings_factory: Callable[..., Settings]) -> Iterator[TestClient]:
    settings = settings_factory()
    settings.producer.inbox.mkdir(parents=True, exist_ok=True)
    (settings.producer.inbox / "games").mkdir()
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8080") as opened:
        yield opened


def test_200_progress_requests_for_new_names_open_no_reader(client: TestClient) -> None:
    client.get("/api/datasets")  # the app's own threads are up
    threads, descriptors = _threads(), _descriptors()
    for number in range(200):
        response = client.get("/api/progress", params={"source": f"new-name-{number}/a.json"})
        assert response.status_code == 404
    assert _settled(_threads, threads + 2) <= threads + 2
    assert _settled(_descriptors, descriptors + 2) <= descriptors + 2


def test_dead_letter_readers_are_shared_bounded_and_closed(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory()
    inbox = settings.producer.inbox
    names = [f"d{number}" for number in range(3 * MAX_DEAD_LETTER_READERS)]
    for name in names:
        (inbox / name).mkdir(parents=True)
    threads, descriptors = _threads(), _descriptors()
    progress = Progress(settings, Catalog(settings))
    try:
        for _ in range(2):  # each dataset asked twice, as streams of two files would
            for name in names:
                progress.of_file(f"{name}/a.json")
                assert progress.readers <= MAX_DEAD_LETTER_READERS
        assert progress.readers == MAX_DEAD_LETTER_READERS
        for _ in range(20):  # the same datasets again and again: shared, no new reader
            progress.of_file(f"{names[-1]}/a.json")
        assert progress.readers == MAX_DEAD_LETTER_READERS
    finally:
        progress.close()
    assert progress.readers == 0
    assert _settled(_threads, threads + 2) <= threads + 2
    assert _settled(_descriptors, descriptors + 4) <= descriptors + 4
