"""One rule for every reading path (producer/parse.py): the same records give the same messages, or the same
rejections, whether the file is small (read whole) or big (streamed), an array, an object of records or
JSON Lines, read with the C scanner or without it.

The rule: integers of any length arrive exactly as written; other numbers arrive as the double they
denote; a number outside the range of a double, or a lone surrogate escape in a key or a string, rejects
the record (with a reason naming it) and the file goes on.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producer.read.format import json_values as parse
from producer.read.framing import json_scanner as scan
from producer.read.framing import json_streamed as streamed
from schemas.message import HEADER_POSITION, HEADER_SOURCE
from schemas.settings import ProducerSettings
from tests.unit.producer.test_pipeline import StandInPublisher, processor

# --- records, written as JSON text by hand (so that they can hold what no encoder writes) --------------


@dataclass(frozen=True)
class Raw:
    """A number written exactly as ``text``."""

    text: str


RAW_NUMBERS = [
    "1e400",
    "-1e400",
    "1" + "0" * 310 + ".5",  # beyond a double without an exponent of 3 digits
    "1" + "0" * 250 + "e99",
    "1e-400",  # rounds to 0, as OpenSearch reads it
    "1.0e2",
    "0.10000000000000001",
    "-0.0",
    "123456789012345678901.5",
    "5E-324",
]
BIG_INTEGERS = [2**64, 2**64 - 1, -(2**63) - 1, 10**300, -(10**40), 18446744073709551616]
LONE = ["\ud800", "x\udc00", "\udbff!", "\\ud800\udc00"]  # never written next to another surrogate
# backslashes next to what looks like an escape: text, not escapes (the last one is a real pair)
LOOKALIKES = ["\\ud800", "\\ud83d\\ude00", "\\\\udc00", "\\😀"]

keys = st.text(max_size=5) | st.sampled_from(["source", "a", "é", 'k"q', "😀", *LONE])
leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(BIG_INTEGERS)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(RAW_NUMBERS).map(Raw)
    | st.text(max_size=8)
    | st.sampled_from(["😀", "\\", '"', *LONE, *LOOKALIKES])
)
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
records = st.dictionaries(keys, values, max_size=5) | values


def has_lone(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def write(value: Any, ascii_only: bool, indent: str | None) -> str:
    """``value`` as JSON text; ``indent``: one level of indentation (None: compact)."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, str):  # a lone surrogate can only be written as an escape
        return json.dumps(value, ensure_ascii=ascii_only or has_lone(value))
    if isinstance(value, list):
        parts = [write(v, ascii_only, indent) for v in value]
        opening, closing = "[", "]"
    else:
        parts = [f"{write(k, ascii_only, indent)}: {write(v, ascii_only, indent)}" for k, v in value.items()]
        opening, closing = "{", "}"
    if indent is None or not parts:
        return opening + ", ".join(parts) + closing
    inner = ",\n".join(indent + part.replace("\n", "\n" + indent) for part in parts)
    return f"{opening}\n{inner}\n{closing}"


def expected_problem(value: Any) -> str | None:
    """The start of the reason the rule rejects ``value`` with, or None."""
    if isinstance(value, Raw):
        return "number " if math.isinf(float(value.text)) else None
    if isinstance(value, str):
        return "lone surrogate escape " if has_lone(value) else None
    if isinstance(value, list):
        return next((p for v in value if (p := expected_problem(v))), None)
    if isinstance(value, dict):
        for key, child in value.items():
            if has_lone(key):
                return "lone surrogate escape "
            if problem := expected_problem(child):
                return problem
    return None


def exact(value: Any) -> Any:
    """A value compared exactly: integers by their value, other numbers by the double they denote,
    booleans apart from integers."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, (float, Decimal, Raw)):
        return ("double", float(Decimal(value.text) if isinstance(value, Raw) else value))
    if isinstance(value, list):
        return [exact(v) for v in value]
    return {k: exact(v) for k, v in value.items()}


# --- running a file through every path ---------------------------------------------------------------


def produce(
    tmp_path: Path, name: str, data: bytes, *, fast: bool, streamed_file: bool, id_field: str | None
) -> tuple[str, list[tuple[Any, Any]], list[tuple[Any, str, Any]]]:
    """(outcome, messages as (index, exact value less the source field), rejections as (index, reason,
    record or None)) for ``data`` written to the inbox as ``name``; index: the record's 0-based index."""
    inbox = tmp_path / f"{name}-{fast}-{streamed_file}" / "inbox"
    inbox.mkdir(parents=True)
    path = inbox / name
    path.write_bytes(gzip.compress(data, mtime=0) if name.endswith(".gz") else data)
    settings_ = ProducerSettings(inbox=inbox, id_field=id_field)
    publisher = StandInPublisher(settings_)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scan, "AVAILABLE", fast)
        if not fast:  # as installed without a C compiler
            patch.setattr(parse, "_has_long_number", None)
        patch.setattr(scan, "_CHUNK", 7)  # records carried over chunk ends
        patch.setattr(streamed, "_CHUNK", 16)  # escapes cut at chunk ends
        proc = processor(settings_, publisher)
        if streamed_file:
            proc.read_options = replace(proc.read_options, small_file_bytes=8)
        result = proc.process(path)
    index = position_index(name)
    messages = []
    for _key, value, headers in publisher.sent:
        parsed = json.loads(value, parse_float=Decimal)
        assert parsed.pop("source") == name
        fields = dict(headers)
        assert fields[HEADER_SOURCE] == name.encode()
        position = fields[HEADER_POSITION]
        assert isinstance(position, bytes)
        messages.append((index(position.decode()), exact(parsed)))
    rejected = []
    for report in settings_.failed_path.glob("*.rejected.jsonl"):
        for line in report.read_bytes().splitlines():
            entry = json.loads(line)
            rule = entry["reason"].startswith(("number ", "lone surrogate escape "))
            # a record rejected by the rule is reported as written where its text is at hand
            record = None if rule else exact(entry["record"])
            rejected.append((index(entry["position"]), entry["reason"], record))
    return result.outcome, messages, rejected


def position_index(name: str) -> Any:
    if ".jsonl" in name:
        return lambda position: int(position) - 1
    if name.startswith("object"):
        return lambda position: int(position[1:]) if position[:1] == "k" else position
    return int


def every_path(
    tmp_path: Path, name: str, data: bytes, id_field: str | None, lines: bool = False
) -> list[Any]:
    """The outcome of every path for one file: scanner or not, whole or streamed (lines: either)."""
    outcomes = []
    for fast in (True, False):
        for streamed_file in (False,) if lines else (False, True):
            outcome = produce(tmp_path, name, data, fast=fast, streamed_file=streamed_file, id_field=id_field)
            outcomes.append(outcome)
    return outcomes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    items=st.lists(records, min_size=1, max_size=5),
    ascii_only=st.booleans(),
    indent=st.sampled_from([None, "  "]),
    gz=st.booleans(),
    with_id=st.booleans(),
)
def test_every_path_gives_the_same_messages_and_rejections_by_the_rule(  # noqa: PLR0917 - hypothesis
    tmp_path_factory: pytest.TempPathFactory,
    items: list[Any],
    ascii_only: bool,
    indent: str | None,
    gz: bool,
    with_id: bool,
) -> None:
    tmp_path = tmp_path_factory.mktemp("rule")
    suffix = ".gz" if gz else ""
    id_field = "id" if with_id else None
    if with_id:  # each record's own id (the scanner does not splice then: every record is parsed)
        items = [{**r, "id": i} if isinstance(r, dict) else r for i, r in enumerate(items)]

    array = write(items, ascii_only, indent).encode()
    by_array = every_path(tmp_path, "array.json" + suffix, array, id_field)
    lines = "".join(write(r, ascii_only, None) + "\n" for r in items).encode()
    by_lines = every_path(tmp_path, "lines.jsonl" + suffix, lines, id_field, lines=True)
    assert all(outcome == by_array[0] for outcome in by_array + by_lines)

    # the rule itself, on the array
    outcome, messages, rejected = by_array[0]
    rejections = {index: reason for index, reason, _ in rejected}
    for index, record in enumerate(items):
        problem = expected_problem(record)
        if problem:
            assert rejections[index].startswith(problem)
        elif not isinstance(record, dict):
            assert rejections[index].endswith("not a JSON object")
        else:
            expected = exact({k: v for k, v in record.items() if k != "source"})
            assert (index, expected) in messages
    assert outcome == ("failed" if rejected else "done")

    # an object of records: the same records by key, when its first value is an object
    keyed = {f"k{i}": r for i, r in enumerate(items)}
    by_object = every_path(
        tmp_path, "object.json" + suffix, write(keyed, ascii_only, indent).encode(), id_field
    )
    assert all(outcome == by_object[0] for outcome in by_object)
    if isinstance(items[0], dict):
        assert by_object[0] == by_array[0]
    else:  # one record: the whole object
        outcome, messages, rejected = by_object[0]
        assert [index for index, _ in messages] + [index for index, *_ in rejected] == ["0"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # an object-of-records key is the record's position: a lone surrogate there rejects the record
        (
            b'{"k0": {"a": 1}, "\\ud800": {"b": 2}, "k2": {"c": 3}}',
            "lone surrogate escape \\ud800 is not valid Unicode (in the record's key)",
        ),
        (
            b'{"k0": {"a": 1}, "k1": {"b": [1, {"c": -1e400}]}, "k2": {}}',
            "number -1e+400 is outside the range of a double; OpenSearch cannot index it (at b[1].c)",
        ),
        (
            b'{"k0": {"a": 1}, "k1": {"\\udc00": 2}, "k2": {}}',
            'lone surrogate escape \\udc00 is not valid Unicode (in the key "\\udc00")',
        ),
    ],
)
def test_a_rejected_record_names_what_breaks_the_rule_on_every_path(
    tmp_path: Path, data: bytes, expected: str
) -> None:
    outcomes = every_path(tmp_path, "object.json", data, None)
    assert all(outcome == outcomes[0] for outcome in outcomes)
    outcome, messages, [(_, reason, _)] = outcomes[0]
    assert outcome == "failed"
    assert len(messages) == 2
    assert reason.startswith(expected)
