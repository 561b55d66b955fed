"""Outstanding dead letters: what a dead-letter topic still owes, read from the topic alone.

A dead-letter topic is the history of a dataset's dead letters, and also their ledger:

- a **letter** (a message with the ``spoolbridge-dlq-*`` headers) says "this document could not be
  indexed";
- a **replay mark** (a null-value message with the :data:`REPLAYED` header, keyed like the letter, so in
  its partition after it) is written by ``dlq replay`` once the broker acknowledged the letter's
  re-published copy: the letter is back in the dataset's topic; if it fails again the consumer writes a
  new letter (which may land before the mark: a mark settles only the letter it names, or older ones).

A document is **outstanding** when no replay mark settled its latest letter. Events are keyed by the
document id, so every event of one id is in one partition, in order; several letters of one id — the
consumer killed after a letter was written but before its offset was committed writes it again, or the
same record failing in two versions of its file — count once. A letter without a key (an invalid message) is
identified by the original topic, partition and offset it names. Both readers of a dead-letter topic
(``status``, the page, ``dlq list``) feed every message to :class:`OutstandingLetters`; the totals of all
letters ever written stay visible as ``history``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from schemas.connect_letters import CONNECT_ORIGINAL, CONNECT_TOPIC
from schemas.message import HEADER_SOURCE

__all__ = [
    "REPLAYED",
    "OutstandingLetters",
    "is_replay_mark",
    "letter_identity",
    "marked_offset",
    "replay_mark_headers",
    "settles",
]

#: Header of a replay mark: ``<partition>/<offset>`` of the letter it settles, in the dead-letter topic.
REPLAYED = "spoolbridge-replayed"

_ORIGINAL = ("spoolbridge-dlq-topic", "spoolbridge-dlq-partition", "spoolbridge-dlq-offset")


def letter_identity(key: bytes | None, headers: list[tuple[str, bytes | None]]) -> bytes:
    """What makes two letters the same document: its id, else the original message's position. Kafka
    Connect's dead-letter topic holds every dataset's letters: there the id is scoped by the original
    topic (one id in two datasets is two documents)."""
    found = dict(headers)
    scope = found.get(CONNECT_TOPIC)
    if key is not None:
        return b"k:" + key if scope is None else b"c:" + scope + b"\0" + key
    names = _ORIGINAL if scope is None else CONNECT_ORIGINAL
    return b"o:" + b"/".join(found.get(name) or b"" for name in names)


def replay_mark_headers(
    headers: list[tuple[str, bytes | None]], partition: int, offset: int
) -> list[tuple[str, bytes | None]]:
    """The headers of the replay mark of the letter at ``partition``/``offset`` (which has ``headers``):
    the mark, the source file, and the original position (the identity of a letter without a key)."""
    kept = [(k, v) for k, v in headers if k in _ORIGINAL or k in CONNECT_ORIGINAL or k == HEADER_SOURCE]
    return [(REPLAYED, f"{partition}/{offset}".encode()), *kept]


def is_replay_mark(value: bytes | None, headers: list[tuple[str, bytes | None]]) -> bool:
    return value is None and any(k == REPLAYED for k, _ in headers)


def marked_offset(headers: list[tuple[str, bytes | None]]) -> int | None:
    """The offset of the letter a replay mark settles (``None``: not a readable mark)."""
    value = next((v for k, v in headers if k == REPLAYED and v is not None), None)
    try:
        return int(value.rsplit(b"/", 1)[1]) if value is not None else None
    except (IndexError, ValueError):
        return None


def settles(mark_headers: list[tuple[str, bytes | None]], latest_letter_offset: int) -> bool:
    """Whether a replay mark settles the document whose latest letter is at ``latest_letter_offset``:
    only the letter it names or an older one; a letter written after the copy failed again (it may land
    before the mark, since the consumer can be faster than the replay) stays outstanding."""
    target = marked_offset(mark_headers)
    return target is not None and target >= latest_letter_offset


def _source(headers: list[tuple[str, bytes | None]]) -> str:
    value = next((v for k, v in headers if k == HEADER_SOURCE and v is not None), None)
    return value.decode("utf-8", "replace") if value is not None else "(unknown)"


@dataclass
class OutstandingLetters:
    """Fed every message of one dead-letter topic in partition order (:meth:`add`); counts by source file.

    ``history``: every letter ever written; ``outstanding``: documents whose latest letter no replay
    mark settled; ``replayed``: documents whose latest letter a replay mark settled. Kept up to date on
    every :meth:`add`.
    """

    history: Counter[str] = field(default_factory=Counter)
    outstanding: Counter[str] = field(default_factory=Counter)
    replayed: Counter[str] = field(default_factory=Counter)
    # identity → (outstanding, source, offset of its latest letter)
    _latest: dict[bytes, tuple[bool, str, int]] = field(default_factory=dict)

    def add(
        self, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes | None]], offset: int
    ) -> None:
        identity = letter_identity(key, headers)
        previous = self._latest.get(identity)
        if is_replay_mark(value, headers):
            if previous is not None and previous[0] and settles(headers, previous[2]):
                self.outstanding[previous[1]] -= 1
                self.replayed[previous[1]] += 1
                self._latest[identity] = (False, previous[1], previous[2])
            return
        source = _source(headers)
        self.history[source] += 1
        if previous is not None:
            (self.outstanding if previous[0] else self.replayed)[previous[1]] -= 1
        self.outstanding[source] += 1
        self._latest[identity] = (True, source, offset)
