"""A 401 or 403 during a load is never dead-lettered: the consumer holds the documents back, says in one
line which permission or setting to fix, and goes on once it is fixed — against the secured node, with the
user's role and password changed mid-load through the security plugin's REST API (as the admin).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from schemas.settings import Settings
from tests.conftest import Endpoints
from tests.integration.consumer.conftest import (
    ThreadRun,
    committed_offsets,
    end_offsets,
    index_ids,
    live_count,
    make_records,
    produce,
    topic_size,
    wait_for,
)
from tests.opensearch_users import scoped_user

pytestmark = pytest.mark.integration

THIRD = 4000
REFUSED_SECS = 3


@pytest.mark.timeout(180)
def test_a_role_and_a_password_changed_mid_load_hold_documents_back_and_dead_letter_none(  # noqa: PLR0917 - pytest parameters
    endpoints: Endpoints,
    settings_factory: Callable[..., Settings],
    consume_in_thread: Callable[..., ThreadRun],
    opensearch_client: Any,
    unique_name: Callable[[str], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="consumer")
    index = unique_name("access")
    with scoped_user(
        endpoints, unique_name("u"), [index], ["read", "indices:admin/get"]
    ) as user:  # no create
        settings = settings_factory(
            opensearch={"url": user.url, "index": index},
            consumer={
                "max_events": 500,
                "retry_initial_backoff_ms": 100,
                "retry_max_backoff_ms": 1000,
                "max_retries": 2,
            },  # fmt: skip  (max_retries bounds transient failures, never these)
        )
        records = make_records(3 * THIRD)
        produce(settings, records[:THIRD], partitions=2)
        run = consume_in_thread(settings, until_idle_secs=10.0)
        wait_for(lambda: "lacks indices:admin/" in caplog.text, 30, "the refused index creation to be logged")
        user.grant(["indices_all"])
        wait_for(lambda: live_count(opensearch_client, index) >= THIRD, 60, "the first third")

        user.grant(["read"])  # writing is refused now: 403 per item
        produce(settings, records[THIRD : 2 * THIRD])
        wait_for(lambda: "lacks indices:data/write/bulk[s]" in caplog.text, 30, "the refused writes")
        time.sleep(REFUSED_SECS)
        assert live_count(opensearch_client, index) == THIRD
        user.grant(["indices_all"])
        wait_for(lambda: live_count(opensearch_client, index) >= 2 * THIRD, 60, "the second third")

        user.set_password("changed-" + user.password)  # the configured password is wrong now: 401
        produce(settings, records[2 * THIRD :])
        wait_for(lambda: "401 Unauthorized" in caplog.text, 30, "the refused credentials")
        time.sleep(REFUSED_SECS)
        user.set_password(user.password)

        assert run.wait(120) == 0
    assert committed_offsets(settings, 2) == end_offsets(settings, 2)  # nothing left unread
    assert topic_size(settings, settings.kafka.dead_letter_topic) == 0
    assert set(index_ids(opensearch_client, index)) == {key for key, _ in records}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    lines = {
        "create": f"the OpenSearch user lacks indices:admin/create on index {index} (403 Forbidden)",
        "write": "the OpenSearch user lacks indices:data/write/bulk[s], indices:data/write/index on index "
        + index,
        "password": "OpenSearch refuses the credentials (401 Unauthorized): fix the user name or password in "
        "opensearch.url",
    }
    for what, line in lines.items():
        said = [w for w in warnings if w.startswith(line)]
        assert 1 <= len(said) <= 2, (what, warnings)  # once per condition, not once per request
        assert all("\n" not in w and user.password not in w for w in said)
    assert caplog.text.count(f"index {index} accepts documents again after") >= 2
    assert "dead-lettering" not in caplog.text and "retries_exhausted" not in caplog.text
