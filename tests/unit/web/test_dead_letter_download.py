"""Which dead letters of a file the page's download lists (spoolbridge/web/dead_letters.py,
``FileLetters``): the outstanding ones, exactly as many as the card counts, and a line for the rest."""

from __future__ import annotations

import orjson

from schemas.letter_ledger import OutstandingLetters, replay_mark_headers
from schemas.message import HEADER_FILE_SHA256, HEADER_SOURCE
from spoolbridge.web.dead_letters import FileLetters

Headers = list[tuple[str, bytes | None]]
Message = tuple[bytes | None, bytes | None, Headers, int, int]  # key, value, headers, partition, offset


def _letter(key: str, source: str, partition: int, offset: int, sha256: str = "v1") -> Message:
    headers: Headers = [
        (HEADER_SOURCE, source.encode()),
        (HEADER_FILE_SHA256, sha256.encode()),
        ("spoolbridge-dlq-topic", b"t"),
        ("spoolbridge-dlq-partition", b"0"),
        ("spoolbridge-dlq-offset", str(offset).encode()),
    ]
    return key.encode(), orjson.dumps({"key": key, "at": offset}), headers, partition, offset


def _mark(letter: Message, offset: int) -> Message:
    key, _, headers, partition, letter_offset = letter
    return key, None, replay_mark_headers(headers, partition, letter_offset), partition, offset


def _listed(
    topic: list[Message], source: str, latest: dict[str, str] | None = None
) -> tuple[list[Message], FileLetters]:
    selection = FileLetters(source, (latest or {}).get)
    for message in topic:
        selection.add(*message)
    return [m for m in topic if selection.lists(*m)], selection


def _card_count(topic: list[Message], source: str, latest: dict[str, str] | None = None) -> int:
    """What the page's card shows (its reader feeds the same ledger, :class:`DeadLetterTail`)."""
    ledger = OutstandingLetters((latest or {}).get)
    for key, value, headers, _, offset in topic:
        ledger.add(key, value, headers, offset)
    return ledger.outstanding[source]


def test_the_download_lists_outstanding_letters_only_each_document_once() -> None:
    replayed = _letter("a:1", "games/a.json", 0, 0)
    first_try = _letter("a:2", "games/a.json", 1, 0)
    topic = [
        replayed,
        first_try,
        _letter("b:1", "games/b.json", 0, 1),  # another file's
        _mark(replayed, 2),  # indexed again by a replay
        _letter("a:2", "games/a.json", 1, 1),  # the same record again (a consumer killed, restarted)
        _letter("a:3", "games/a.json", 0, 3),
    ]
    listed, selection = _listed(topic, "games/a.json")
    assert [(m[0], m[3], m[4]) for m in listed] == [(b"a:2", 1, 1), (b"a:3", 0, 3)]  # the latest of a:2
    assert len(listed) == selection.outstanding == _card_count(topic, "games/a.json") == 2
    line = selection.summary()
    assert line is not None
    summary = orjson.loads(line)
    assert (summary["outstanding"], summary["replayed"], summary["superseded"]) == (2, 1, 0)
    assert summary["note"] == (
        "2 outstanding dead letters listed; not listed: 1 replayed (indexed again by "
        "`spoolbridge dlq replay`), 0 superseded (a newer version of the file settled since)"
    )


def test_letters_a_newer_settled_version_of_the_file_superseded_are_not_listed() -> None:
    topic = [_letter("a:1", "games/a.json", 0, 0, "v1"), _letter("a:2", "games/a.json", 0, 1, "v2")]
    latest = {"games/a.json": "v2"}
    listed, selection = _listed(topic, "games/a.json", latest)
    assert [m[0] for m in listed] == [b"a:2"]
    assert len(listed) == _card_count(topic, "games/a.json", latest) == 1
    assert orjson.loads(selection.summary() or b"{}")["superseded"] == 1


def test_a_letter_that_failed_again_after_its_replay_is_listed_once() -> None:
    letter = _letter("a:1", "games/a.json", 0, 0)
    topic = [letter, _mark(letter, 1), _letter("a:1", "games/a.json", 0, 2)]  # the copy failed again
    listed, selection = _listed(topic, "games/a.json")
    assert [m[4] for m in listed] == [2]
    assert len(listed) == _card_count(topic, "games/a.json") == 1
    assert selection.summary() is None  # its latest letter is owed again: nothing settled


def test_nothing_replayed_or_superseded_needs_no_extra_line() -> None:
    listed, selection = _listed([_letter("a:1", "games/a.json", 0, 0)], "games/a.json")
    assert len(listed) == 1 and selection.summary() is None
