"""The producer's metric bookkeeping (producer/metrics.py): what a file's outcome adds to which series."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from producer.metrics import INVALID_DATASET, ProducerMetrics, dataset_label
from producer.pipeline import FileResult
from producer.publish.publisher import DeliveryFailure, FileDeliveries


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def failure(permanent: bool) -> DeliveryFailure:
    return DeliveryFailure(key="k", position="1", value=b"{}", error="E", permanent=permanent)


def test_dataset_label_is_the_folder_the_default_or_invalid() -> None:
    assert dataset_label("a.json") == "(default)"
    assert dataset_label("games/2024/a.json") == "games"
    assert dataset_label("Bad Folder/a.json") == INVALID_DATASET


def test_a_file_counts_records_as_they_are_read_and_the_rest_when_settled() -> None:
    registry = CollectorRegistry()
    metrics = ProducerMetrics(registry)
    meter = metrics.file("games/a.jsonl")
    meter.records_read(1000)
    meter.records_read(1000)
    assert value(registry, "spoolbridge_producer_records_read_total", dataset="games") == 2000
    deliveries = FileDeliveries(
        sent=2500, acked=2497, failures=[failure(True), failure(False), failure(True)]
    )
    deliveries.ack_wait_secs = 0.12
    result = FileResult("games/a.jsonl", "retry", records=2497, rejected=0, bytes=4096, read=2504)
    result.deliveries = deliveries
    meter.settled(result)

    def got(name: str, **labels: str) -> float:
        return value(registry, name, dataset="games", **labels)

    assert got("spoolbridge_producer_records_read_total") == 2504  # 2,500 sent + 4 rejected before sending
    assert got("spoolbridge_producer_files_total", outcome="retry") == 1
    assert got("spoolbridge_producer_bytes_read_total") == 4096
    assert got("spoolbridge_producer_records_produced_total") == 2497
    assert got("spoolbridge_producer_produce_errors_total", kind="refused") == 2
    assert got("spoolbridge_producer_produce_errors_total", kind="not_acknowledged") == 1
    assert got("spoolbridge_producer_delivery_latency_seconds_count") == 1
    assert got("spoolbridge_producer_delivery_latency_seconds_sum") == 0.12
    assert got("spoolbridge_producer_delivery_latency_seconds_bucket", le="0.25") == 1
    assert got("spoolbridge_producer_delivery_latency_seconds_bucket", le="0.1") == 0
    assert value(registry, "spoolbridge_producer_records_read_total", dataset="(default)") == 0


def test_a_file_that_was_not_read_counts_only_its_outcome() -> None:
    registry = CollectorRegistry()
    metrics = ProducerMetrics(registry)
    metrics.file("x.json").settled(FileResult("x.json", "unreadable", reason="Permission denied"))
    failed = FileResult("b.json", "failed", records=3, rejected=2, bytes=100, read=5)
    failed.deliveries = FileDeliveries(sent=3, acked=3)
    metrics.file("b.json").settled(failed)
    assert value(registry, "spoolbridge_producer_files_total", dataset="(default)", outcome="unreadable") == 1
    assert value(registry, "spoolbridge_producer_files_total", dataset="(default)", outcome="failed") == 1
    assert value(registry, "spoolbridge_producer_records_read_total", dataset="(default)") == 5
    assert value(registry, "spoolbridge_producer_records_rejected_total", dataset="(default)") == 2
    assert value(registry, "spoolbridge_producer_records_produced_total", dataset="(default)") == 3
    assert value(registry, "spoolbridge_producer_bytes_read_total", dataset="(default)") == 100


def test_files_waiting_are_counted_per_dataset_and_a_dataset_emptied_shows_zero() -> None:
    registry = CollectorRegistry()
    metrics = ProducerMetrics(registry)
    inbox = Path("/in")
    paths = [inbox / "a.json", inbox / "b.json", inbox / "games" / "c.json"]
    metrics.waiting(lambda: paths, inbox, now=10.0)
    assert value(registry, "spoolbridge_producer_inbox_files", dataset="(default)") == 2
    assert value(registry, "spoolbridge_producer_inbox_files", dataset="games") == 1
    metrics.waiting(lambda: [inbox / "a.json"], inbox, now=10.5)  # within a second: not recounted
    assert value(registry, "spoolbridge_producer_inbox_files", dataset="(default)") == 2
    metrics.waiting(lambda: [inbox / "a.json"], inbox, now=11.0)
    assert value(registry, "spoolbridge_producer_inbox_files", dataset="(default)") == 1
    assert registry.get_sample_value("spoolbridge_producer_inbox_files", {"dataset": "games"}) == 0


def test_records_overwritten_within_their_file_are_counted() -> None:
    registry = CollectorRegistry()
    done = FileResult("teams.jsonl", "done", records=6508, bytes=100, read=6508, superseded=6392)
    done.deliveries = FileDeliveries(sent=6508, acked=6508)
    ProducerMetrics(registry).file("teams.jsonl").settled(done)
    assert value(registry, "spoolbridge_producer_records_superseded_total", dataset="(default)") == 6392
    assert value(registry, "spoolbridge_producer_records_produced_total", dataset="(default)") == 6508
