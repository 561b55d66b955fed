"""Each input shape becomes exactly one message per record; bad inputs end in failed/ with a reason."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from producer.service import run
from schemas.datasets import Datasets
from schemas.errors import ConfigError
from schemas.message import HEADER_FILE_SHA256, HEADER_POSITION, HEADER_SOURCE
from schemas.settings import Settings
from tests.conftest import Endpoints
from tests.integration.producer.conftest import read_topic

pytestmark = pytest.mark.integration

STEAM: dict[str, dict[str, Any]] = {
    "730": {"name": "Counter-Strike 2", "price": 0},
    "570": {"name": "Dota 2", "tags": ["moba"]},
}
ROWS = [{"id": "a", "n": 1}, {"id": "b", "n": 2}, {"id": "c", "n": 3.5}]


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


SHAPES: list[tuple[str, bytes, dict[str, Any], list[tuple[str, dict[str, Any]]]]] = [
    ("steam/games.json", orjson.dumps(STEAM), {}, [(k, v) for k, v in STEAM.items()]),
    ("rows.json", orjson.dumps(ROWS), {}, [(str(i), r) for i, r in enumerate(ROWS)]),
    (
        "rows.jsonl",
        b"\n".join(orjson.dumps(r) for r in ROWS),
        {},
        [(str(i + 1), r) for i, r in enumerate(ROWS)],
    ),
    (
        "rows.ndjson",
        b"\n".join(orjson.dumps(r) for r in ROWS),
        {},
        [(str(i + 1), r) for i, r in enumerate(ROWS)],
    ),
    ("one.json", b'{"title": "single", "n": 1}', {}, [("0", {"title": "single", "n": 1})]),
    (
        "geo.json",
        orjson.dumps({"type": "FeatureCollection", "features": ROWS}),
        {"records_path": "features"},
        [(str(i), r) for i, r in enumerate(ROWS)],
    ),
]


@pytest.mark.parametrize("gz", ["", ".gz"], ids=["plain", "gzip"])
@pytest.mark.parametrize(("name", "data", "options", "expected"), SHAPES, ids=[s[0] for s in SHAPES])
def test_each_shape_produces_one_message_per_record_and_moves_to_done(  # noqa: PLR0917 - pytest parameters
    produce_settings: Callable[..., Settings],
    run_once: Callable[[Settings], int],
    endpoints: Endpoints,
    gz: str,
    name: str,
    data: bytes,
    options: dict[str, Any],
    expected: list[tuple[str, dict[str, Any]]],
) -> None:
    settings = produce_settings(**options)
    inbox = settings.producer.inbox
    source = name + gz
    path = _write(inbox / source, data)
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    size = path.stat().st_size

    assert run_once(settings) == 0

    topic = Datasets(settings).get(Datasets.name_of_source(source)).topic  # steam/ is dataset "steam"
    messages = read_topic(endpoints.bootstrap_servers, topic, expect=len(expected))
    assert sorted((m.key, m.value) for m in messages) == sorted(
        (f"{source}:{position}", {**record, "source": source}) for position, record in expected
    )
    for message in messages:
        assert message.headers == {
            HEADER_SOURCE: source,
            HEADER_FILE_SHA256: sha256,
            HEADER_POSITION: message.key.rsplit(":", 1)[1],
        }
    assert not path.exists()
    assert (inbox / "done" / source).is_file()
    manifest = orjson.loads((inbox / "done" / f"{source}.manifest.json").read_bytes())
    assert manifest["records"] == len(expected)
    assert manifest["sha256"] == sha256
    assert manifest["bytes"] == size
    assert manifest["first_id"] == f"{source}:{expected[0][0]}"
    assert manifest["last_id"] == f"{source}:{expected[-1][0]}"
    assert manifest["topic"] == topic


def test_id_field_makes_the_record_its_own_id_and_records_without_it_are_rejected(
    produce_settings: Callable[..., Settings], run_once: Callable[[Settings], int], endpoints: Endpoints
) -> None:
    settings = produce_settings(id_field="id")
    inbox = settings.producer.inbox
    _write(inbox / "a.jsonl", b'{"id": "x1", "v": 1}\n{"v": 2}\n{"id": 7, "v": 3}\n')

    assert run_once(settings) == 1  # a rejected record fails the file

    messages = read_topic(endpoints.bootstrap_servers, settings.kafka.topic, expect=2)
    assert sorted(m.key for m in messages) == ["7", "x1"]
    rejected = [
        orjson.loads(line) for line in (inbox / "failed" / "a.jsonl.rejected.jsonl").read_bytes().splitlines()
    ]
    assert rejected == [
        {"position": "2", "id": None, "reason": "record has no id field 'id'", "record": {"v": 2}}
    ]


def test_same_file_dropped_twice_gives_the_same_keys(
    produce_settings: Callable[..., Settings], run_once: Callable[[Settings], int], endpoints: Endpoints
) -> None:
    settings = produce_settings()
    inbox = settings.producer.inbox
    for _ in range(2):
        _write(inbox / "again.json", orjson.dumps(ROWS))
        assert run_once(settings) == 0
    messages = read_topic(endpoints.bootstrap_servers, settings.kafka.topic, expect=6)
    assert sorted({m.key for m in messages}) == ["again.json:0", "again.json:1", "again.json:2"]
    assert len(messages) == 6


BAD_FILES: list[tuple[str, bytes, str, int]] = [
    ("truncated.json", b'[{"a": 1}, {"b": 2}, {"c": ', "truncated JSON", 2),
    ("latin1.json", '[{"a": "caf\u00e9"}]'.encode("latin-1"), "not valid UTF-8", 0),
    ("empty.json", b"", "the file is empty", 0),
    ("number.json", b"42", "top-level value is a number", 0),
    ("deep.json", b"[" * 5000 + b"]" * 5000, "nested deeper than 1024 levels", 0),
    ("zero.json.gz", b"", "empty (0 bytes)", 0),
    ("notgzip.json.gz", b'[{"a": 1}]', "not valid gzip data", 0),
]


@pytest.mark.parametrize(("name", "data", "reason", "produced"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_ends_in_failed_with_a_positioned_reason(  # noqa: PLR0917 - pytest parameters
    produce_settings: Callable[..., Settings],
    run_once: Callable[[Settings], int],
    name: str,
    data: bytes,
    reason: str,
    produced: int,
) -> None:
    settings = produce_settings()
    inbox = settings.producer.inbox
    path = inbox / name
    path.write_bytes(data)  # written raw: these .gz files are broken on purpose
    _write(inbox / "good.json", orjson.dumps(ROWS))

    assert run_once(settings) == 1

    error = orjson.loads((inbox / "failed" / f"{name}.error.json").read_bytes())
    assert reason in error["what"]
    assert error["where"]["position"] is not None
    assert error["what_to_do"]
    assert error["records_produced"] == produced
    assert (inbox / "failed" / name).read_bytes() == data
    assert (inbox / "done" / "good.json").is_file(), "the producer must go on with the other files"


def test_array_of_mixed_objects_and_scalars_produces_the_objects_and_rejects_the_rest(
    produce_settings: Callable[..., Settings], run_once: Callable[[Settings], int], endpoints: Endpoints
) -> None:
    settings = produce_settings()
    inbox = settings.producer.inbox
    _write(inbox / "mixed.json", b'[{"a": 1}, 2, "three", null, {"b": 5}]')

    assert run_once(settings) == 1

    messages = read_topic(endpoints.bootstrap_servers, settings.kafka.topic, expect=2)
    assert sorted(m.key for m in messages) == ["mixed.json:0", "mixed.json:4"]
    lines = (inbox / "failed" / "mixed.json.rejected.jsonl").read_bytes().splitlines()
    rejected = [orjson.loads(line) for line in lines]
    assert [(r["position"], r["record"]) for r in rejected] == [("1", 2), ("2", "three"), ("3", None)]
    assert all("not a JSON object" in r["reason"] for r in rejected)
    error = orjson.loads((inbox / "failed" / "mixed.json.error.json").read_bytes())
    assert error["where"] == {"unit": "record", "position": "1", "first_of": 3}
    assert error["records_produced"] == 2
    assert error["records_rejected"] == 3


def test_record_over_the_topics_max_message_bytes_is_rejected_and_the_others_are_produced(
    produce_settings: Callable[..., Settings],
    run_once: Callable[[Settings], int],
    endpoints: Endpoints,
    kafka_admin: AdminClient,
) -> None:
    settings = produce_settings()
    topic = settings.kafka.topic
    futures = kafka_admin.create_topics(
        [NewTopic(topic, num_partitions=1, replication_factor=1, config={"max.message.bytes": "20000"})]
    )
    futures[topic].result(timeout=30)
    inbox = settings.producer.inbox
    records = [{"i": 0}, {"i": 1, "blob": "x" * 50_000}, {"i": 2}]
    _write(inbox / "big.jsonl", b"\n".join(orjson.dumps(r) for r in records))

    assert run_once(settings) == 1

    messages = read_topic(endpoints.bootstrap_servers, topic, expect=2)
    assert sorted(m.key for m in messages) == ["big.jsonl:1", "big.jsonl:3"]
    [rejected] = [
        orjson.loads(x) for x in (inbox / "failed" / "big.jsonl.rejected.jsonl").read_bytes().splitlines()
    ]
    assert rejected["position"] == "2"
    assert "the topic accepts at most" in rejected["reason"]


RULE_RECORDS = [
    b'{"i": 0, "n": 18446744073709551616, "m": -1' + b"0" * 300 + b"}",  # integers: kept exactly
    b'{"i": 1, "x": 1e400}',  # outside a double: the record is rejected
    b'{"i": 2, "s": "\\ud800"}',  # a lone surrogate: the record is rejected
    b'{"i": 3, "f": 0.1, "e": "\\ud83d\\ude00"}',
]


@pytest.mark.parametrize("shape", ["small.json", "big.json", "lines.jsonl", "big.jsonl"])
def test_numbers_and_surrogates_follow_one_rule_whatever_the_file_size_and_shape(
    produce_settings: Callable[..., Settings],
    run_once: Callable[[Settings], int],
    endpoints: Endpoints,
    shape: str,
) -> None:
    settings = produce_settings()
    inbox = settings.producer.inbox
    filler = [b'{"i": %d, "pad": "%s"}' % (i, b"x" * 200) for i in range(4, 4 + 22_000)]  # over 4 MB
    records = RULE_RECORDS + (filler if shape.startswith("big") else [])
    if shape.endswith(".jsonl"):
        _write(inbox / shape, b"\n".join(records) + b"\n")
    else:
        _write(inbox / shape, b"[" + b",\n".join(records) + b"]")

    assert run_once(settings) == 1

    messages = read_topic(endpoints.bootstrap_servers, settings.kafka.topic, expect=len(records) - 2)
    values = {m.value["i"]: json.loads(m.raw) for m in messages}
    assert len(values) == len(records) - 2
    assert values[0] == {"i": 0, "n": 2**64, "m": -(10**300), "source": shape}
    assert values[3] == {"i": 3, "f": 0.1, "e": "😀", "source": shape}
    report = (inbox / "failed" / f"{shape}.rejected.jsonl").read_bytes().splitlines()
    first = 1 if shape.endswith(".jsonl") else 0
    assert [(r["position"], r["reason"]) for r in map(json.loads, report)] == [
        (
            str(first + 1),
            "number 1e+400 is outside the range of a double; OpenSearch cannot index it (at x)",
        ),
        (str(first + 2), "lone surrogate escape \\ud800 is not valid Unicode (at s)"),
    ]


@pytest.mark.parametrize("size", ["small", "big"])
def test_an_object_whose_first_value_is_a_record_is_an_object_of_records_at_any_size(
    produce_settings: Callable[..., Settings],
    run_once: Callable[[Settings], int],
    endpoints: Endpoints,
    size: str,
) -> None:
    settings = produce_settings()
    inbox = settings.producer.inbox
    filler = {f"f{i}": {"pad": "x" * 200} for i in range(22_000 if size == "big" else 0)}
    _write(inbox / "map.json", orjson.dumps({"k0": {"a": 1}, **filler, "k1": {"b": 2}, "k2": 3}))

    assert run_once(settings) == 1

    messages = read_topic(endpoints.bootstrap_servers, settings.kafka.topic, expect=2 + len(filler))
    assert {m.key for m in messages} >= {"map.json:k0", "map.json:k1"}
    [rejected] = map(json.loads, (inbox / "failed" / "map.json.rejected.jsonl").read_bytes().splitlines())
    assert (rejected["position"], rejected["reason"]) == ("k2", "record is a number, not a JSON object")


def test_source_field_conflict_policy_reject(
    produce_settings: Callable[..., Settings], run_once: Callable[[Settings], int], endpoints: Endpoints
) -> None:
    settings = produce_settings(source_conflict="reject")
    inbox = settings.producer.inbox
    _write(inbox / "s.json", b'[{"source": "mine"}, {"a": 1}]')
    assert run_once(settings) == 1
    [message] = read_topic(endpoints.bootstrap_servers, settings.kafka.topic, expect=1)
    assert message.value == {"a": 1, "source": "s.json"}
    assert "already has the source field" in (inbox / "failed" / "s.json.rejected.jsonl").read_text()


def test_missing_tls_file_is_a_setting_error_naming_the_setting(
    produce_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = produce_settings()
    kafka = settings.kafka.model_copy(update={"security_protocol": "SSL", "ssl_cafile": tmp_path / "ca.pem"})
    with pytest.raises(ConfigError, match=r"kafka\.ssl_cafile"):
        run(settings.model_copy(update={"kafka": kafka}), once=True)
