"""Whether a file's records can take their document ids from a field: the values of that field that
repeat, found before the file reaches the producer (so a page-chosen id field that is not unique is
refused before any document is overwritten by another record's).

The file is read by the producer's own reader (:func:`producer.read.entry.read_records`, the same shapes and
``records_path``) and each id made by the producer's own rule (:func:`schemas.ids.field_id`), so a value
counted here is exactly a document id the producer would give. Records the producer would reject (not an
object, no usable id field, unreadable) are not counted; a file error ends the scan (the producer reports
it). Memory: a set of 64-bit hashes of the ids (as :mod:`producer.versions`), never the ids themselves,
plus the first few repeated values to name them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from producer.read.entry import ReadOptions, read_records
from schemas.errors import InputFileError
from schemas.ids import IdFieldError, field_id

__all__ = ["Repeats", "repeated_ids"]

_EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class Repeats:
    """``records``: how many records share their id with another record; ``first``: the first values
    seen repeating, in file order (at most three)."""

    records: int
    first: tuple[str, ...]


def repeated_ids(path: Path, id_field: str, options: ReadOptions) -> Repeats:
    """The ids from ``id_field`` that more than one record of ``path`` has (``path``'s name says its
    shape, as for the producer)."""
    seen: set[int] = set()
    repeated: set[int] = set()
    records = 0
    first: list[str] = []
    try:
        for _position, record in read_records(path, options):
            if type(record) is not dict:
                continue
            try:
                key = field_id(record, id_field)
            except IdFieldError:
                continue
            digest = hash(key)
            if digest not in seen:
                seen.add(digest)
            elif digest in repeated:
                records += 1
            else:
                repeated.add(digest)
                records += 2  # the record that had it first shares it too
                if len(first) < _EXAMPLES:
                    first.append(key)
    except InputFileError:
        pass  # the records before the error are what the producer sends; it reports the error itself
    return Repeats(records, tuple(first))
