"""Outstanding dead letters: what a dead-letter topic still owes, read from the topic alone.

A dead-letter topic is the history of a dataset's dead letters, and also their ledger:

- a **letter** (a message with the ``spoolbridge-dlq-*`` headers) says "this document could not be
  indexed";
- a **replay mark** (a null-value message with the :data:`REPLAYED` header, keyed like the letter, so in
  its partition after it) is written by ``dlq replay`` once the broker acknowledged the letter's
  re-published copy: the letter is back in the dataset's topic; if it fails again the consumer writes a
  new letter (which may land before the mark: a mark settles only the letter it names, or older ones).

A document is **outstanding** when its latest letter is neither settled by a replay mark nor
**superseded**: a letter carries the sha256 of the file version it came from (``spoolbridge-file-sha256``),
and once a newer version of that file settled (the producer's version history names its sha256), the
newer version either produced the id again — indexed, or dead-lettered with a newer letter — or lacked it
and deleted it, so the old letter is owed no more and a replay must not send it (it would overwrite the
newer document or bring a deleted one back). Events are keyed by the
document id, so every event of one id is in one partition, in order; several letters of one id — the
consumer killed after a letter was written but before its offset was committed writes it again, or the
same record failing in two versions of its file — count once. A letter without a key (an invalid message) is
identified by the original topic, partition and offset it names. Every reader of a dead-letter topic
(``status``, the page, ``dlq list`` and ``replay``, the outstanding gauge) feeds every message to
:class:`OutstandingLetters` with the same version history; the totals of all letters ever written stay
visible as ``history``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from schemas.connect_letters import CONNECT_ORIGINAL, CONNECT_TOPIC
from schemas.letter_reasons import ReasonGroup, reason_group
from schemas.message import HEADER_FILE_SHA256, HEADER_SOURCE

__all__ = [
    "REPLAYED",
    "LatestVersion",
    "LetterState",
    "OutstandingLetters",
    "is_replay_mark",
    "is_superseded",
    "letter_identity",
    "marked_offset",
    "no_history",
    "replay_mark_headers",
    "settles",
]

#: Header of a replay mark: ``<partition>/<offset>`` of the letter it settles, in the dead-letter topic.
REPLAYED = "spoolbridge-replayed"

_ERROR_TYPE, _REASON = "spoolbridge-dlq-error-type", "spoolbridge-dlq-reason"
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


def _header(headers: list[tuple[str, bytes | None]], name: str) -> str | None:
    value = next((v for k, v in headers if k == name and v is not None), None)
    return value.decode("utf-8", "replace") if value is not None else None


def _source(headers: list[tuple[str, bytes | None]]) -> str:
    return _header(headers, HEADER_SOURCE) or "(unknown)"


#: The sha256 of the latest settled version of a source file (``None``: not known, e.g. no history).
LatestVersion = Callable[[str], str | None]
LetterState = Literal["outstanding", "replayed", "superseded"]


def no_history(source: str) -> str | None:
    """A :data:`LatestVersion` for readers without the producer's version history: nothing is superseded."""
    return None


def is_superseded(letter_sha256: str | None, latest_sha256: str | None) -> bool:
    """Whether a letter of a file version with ``letter_sha256`` is owed no more because a newer version
    of its file settled (``latest_sha256``): that version either produced the id again (indexed, or a
    newer letter) or lacked it and deleted it (write-ahead ids). Unknown on either side: not superseded."""
    return letter_sha256 is not None and latest_sha256 is not None and letter_sha256 != latest_sha256


@dataclass(slots=True)
class _Latest:
    """The latest letter of one identity."""

    open: bool  # no replay mark settled it
    source: str
    sha256: str | None  # the file version it came from (``spoolbridge-file-sha256``)
    offset: int
    reason: str = ""  # its cause (:func:`~schemas.letter_reasons.reason_group`'s key)


@dataclass
class OutstandingLetters:
    """Fed every message of one dead-letter topic in partition order (:meth:`add`); counts by source file.

    ``history``: every letter ever written. Of each document's latest letter: ``replayed`` when a replay
    mark settled it; else ``superseded`` when a newer version of its file settled since
    (:func:`is_superseded`, asked of ``latest_version`` whenever a figure is read, so a version that
    settles later counts at once); else ``outstanding``.
    """

    latest_version: LatestVersion = no_history
    history: Counter[str] = field(default_factory=Counter)
    replayed: Counter[str] = field(default_factory=Counter)
    _latest: dict[bytes, _Latest] = field(default_factory=dict)
    _open: Counter[tuple[str, str | None]] = field(default_factory=Counter)  # open letters by version
    _open_reasons: Counter[tuple[str, str | None, str]] = field(default_factory=Counter)  # … and cause
    _reasons: dict[str, ReasonGroup] = field(default_factory=dict)

    def add(
        self, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes | None]], offset: int
    ) -> None:
        identity = letter_identity(key, headers)
        previous = self._latest.get(identity)
        if is_replay_mark(value, headers):
            if previous is not None and previous.open and settles(headers, previous.offset):
                self._close(previous)
                self.replayed[previous.source] += 1
                previous.open = False
            return
        if previous is not None:
            if previous.open:
                self._close(previous)
            else:
                self.replayed[previous.source] -= 1
        group = reason_group(_header(headers, _ERROR_TYPE) or "unknown", _header(headers, _REASON) or "")
        self._reasons.setdefault(group.key, group)
        latest = _Latest(True, _source(headers), _header(headers, HEADER_FILE_SHA256), offset, group.key)
        self.history[latest.source] += 1
        self._open[(latest.source, latest.sha256)] += 1
        self._open_reasons[(latest.source, latest.sha256, latest.reason)] += 1
        self._latest[identity] = latest

    def _close(self, letter: _Latest) -> None:
        self._open[(letter.source, letter.sha256)] -= 1
        self._open_reasons[(letter.source, letter.sha256, letter.reason)] -= 1

    def reasons(self, source: str) -> list[tuple[ReasonGroup, int]]:
        """Why ``source``'s outstanding letters were written: each cause with its count, most first."""
        latest = self.latest_version(source)
        counts: Counter[str] = Counter()
        for (of, sha256, key), count in self._open_reasons.items():
            if of == source and count > 0 and not is_superseded(sha256, latest):
                counts[key] += count
        return [(self._reasons[key], count) for key, count in counts.most_common()]

    @property
    def outstanding(self) -> Counter[str]:
        """Per source: documents whose latest letter is neither replayed nor superseded."""
        return self._split()[0]

    @property
    def superseded(self) -> Counter[str]:
        """Per source: documents whose latest letter a newer version of the file made moot."""
        return self._split()[1]

    def state(self, identity: bytes) -> LetterState | None:
        """What the latest letter of ``identity`` (:func:`letter_identity`) is now; ``None``: it has none."""
        latest = self._latest.get(identity)
        if latest is None:
            return None
        if not latest.open:
            return "replayed"
        if is_superseded(latest.sha256, self.latest_version(latest.source)):
            return "superseded"
        return "outstanding"

    def _split(self) -> tuple[Counter[str], Counter[str]]:
        outstanding: Counter[str] = Counter()
        superseded: Counter[str] = Counter()
        versions: dict[str, str | None] = {}
        for (source, sha256), count in self._open.items():
            if count <= 0:
                continue
            if source not in versions:
                versions[source] = self.latest_version(source)
            (superseded if is_superseded(sha256, versions[source]) else outstanding)[source] += count
        return outstanding, superseded
