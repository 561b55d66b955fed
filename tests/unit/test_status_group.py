"""``status --group`` names the consumer group whose lag is measured (Kafka Connect's: ``connect-<name>``)."""

from __future__ import annotations

import pytest

from schemas.settings import load_settings
from spoolbridge.cli import _overrides, build_parser
from spoolbridge.connect_config import connector_name, consumer_group
from spoolbridge.status import DatasetStatus, PartitionLag, SourceStatus, StatusReport
from spoolbridge.status_text import print_status


def test_status_group_flag_sets_the_group_whose_lag_is_measured() -> None:
    args = build_parser().parse_args(["status", "--group", "connect-spoolbridge-opensearch-sink"])
    settings = load_settings(_overrides(args), config_file=None)
    assert settings.consumer.group == "connect-spoolbridge-opensearch-sink"


def test_the_group_connect_config_prints_is_the_default_connectors_group() -> None:
    settings = load_settings({}, config_file=None)
    assert consumer_group(connector_name(settings)) == "connect-spoolbridge-opensearch-sink"


def _report(group: str, lag: int) -> StatusReport:
    row = SourceStatus("a.json", "(default)", "done", read=2, produced=2, indexed=2)
    dataset = DatasetStatus("(default)", "spoolbridge", "spoolbridge", "spoolbridge.dlq", sources=[row])
    dataset.partitions = [PartitionLag(0, 2 - lag, 2, lag)]
    return StatusReport(group, [dataset])


def test_settled_needs_the_named_groups_lag_to_be_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert _report("connect-sink", 0).settled
    assert not _report("spoolbridge", 2).settled  # every document indexed, but not by this group
    print_status(_report("connect-sink", 0))
    assert "consumer group connect-sink: lag 0" in capsys.readouterr().out
