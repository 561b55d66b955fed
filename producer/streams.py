"""Opening an input file as a stream of decompressed bytes, with positions and clear errors.

:class:`InputStream` reads a plain or ``.gz`` file, counts the (decompressed) bytes handed out so errors
can say where they happened, and converts gzip/zlib/IO failures into
:class:`~schemas.errors.InputFileError`. :class:`DepthGuard` stops ijson from being fed JSON nested so
deeply that its prefix bookkeeping would exhaust memory (its cost grows with the square of the depth).
"""

from __future__ import annotations

import codecs
import gzip
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from schemas.errors import InputFileError

__all__ = [
    "MAX_DEPTH",
    "DepthGuard",
    "InputStream",
    "depth_bound",
    "first_invalid_utf8",
    "is_gzip_name",
    "read_head",
]

#: Deepest nesting accepted in a file (the same limit orjson applies to small files).
MAX_DEPTH = 1024
_CHUNK = 64 * 1024
_BOM = b"\xef\xbb\xbf"


def is_gzip_name(path: Path | str) -> bool:
    return str(path).endswith(".gz")


class InputStream:
    """A binary, read-only stream over ``path`` (gunzipped when the name ends in ``.gz``).

    ``offset`` is the number of decompressed bytes returned so far. Every read failure raises
    :class:`InputFileError` positioned at ``offset`` (unit ``byte``, or ``decompressed byte`` for gzip).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.gzip = is_gzip_name(path)
        self.unit = "decompressed byte" if self.gzip else "byte"
        self.offset = 0
        try:
            if self.gzip and path.stat().st_size == 0:
                raise InputFileError(
                    "the .gz file is empty (0 bytes), not gzip data",
                    position=0,
                    hint="drop the complete gzip file again",
                )
            self._raw = open(path, "rb")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise InputFileError(f"cannot open the file: {exc.strerror or exc}") from exc
        self._stream = gzip.GzipFile(fileobj=self._raw, mode="rb") if self.gzip else self._raw

    def read(self, size: int = _CHUNK) -> bytes:
        try:
            data = self._stream.read(size)
        except (OSError, EOFError, zlib.error) as exc:
            raise self._error(exc) from exc
        self.offset += len(data)
        return data

    def readline(self, limit: int) -> bytes:
        try:
            data = self._stream.readline(limit)
        except (OSError, EOFError, zlib.error) as exc:
            raise self._error(exc) from exc
        self.offset += len(data)
        return data

    def _error(self, exc: BaseException) -> InputFileError:
        if isinstance(exc, gzip.BadGzipFile) or (self.gzip and isinstance(exc, zlib.error)):
            return InputFileError(
                f"not valid gzip data ({exc})",
                position=self.offset,
                unit=self.unit,
                hint="the name ends in .gz: compress the file with gzip, or drop the name's .gz",
            )
        if isinstance(exc, EOFError):
            return InputFileError(
                "the gzip data is truncated (it ends before the end-of-stream marker)",
                position=self.offset,
                unit=self.unit,
                hint="the copy was probably incomplete; drop the complete file again",
            )
        return InputFileError(f"cannot read the file: {exc}", position=self.offset, unit=self.unit)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._raw.close()

    def __enter__(self) -> InputStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class DepthGuard:
    """A ``read()`` source for ijson that refuses JSON nested deeper than ``max_depth``.

    Brackets per chunk (ignoring strings) give a cheap upper bound of the depth (:func:`depth_bound`). When
    the bound passes ``max_depth``, ``verify()`` computes the exact depth from a fresh stream; it raises
    :class:`InputFileError` if the file really is too deep, otherwise the guard switches itself off (the
    bound was inflated by brackets inside strings).
    """

    def __init__(self, head: bytes, stream: InputStream, verify: Callable[[], None], max_depth: int) -> None:
        self._pending = head
        self._pending_at = 0  # offset into head: slicing off the front each time would copy it all
        self._stream = stream
        self._verify = verify
        self._max_depth = max_depth
        self._bound = 0
        self._checking = True
        self.consumed = 0

    def read(self, size: int = _CHUNK) -> bytes:
        if self._pending_at < len(self._pending):
            data = self._pending[self._pending_at : self._pending_at + size]
            self._pending_at += len(data)
        else:
            data = self._stream.read(size)
        if self._checking:
            peak, self._bound = depth_bound(data, self._bound, self._max_depth)
            if peak > self._max_depth:
                self._verify()
                self._checking = False
        self.consumed += len(data)
        return data


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_MATCHED_PAIR = re.compile(rb"\[\]|\{\}")


def depth_bound(data: bytes, before: int, limit: int) -> tuple[int, int]:
    """(upper bound of the deepest nesting inside ``data``, bound of the depth after it).

    ``before`` is the bound of the depth where ``data`` starts. Brackets inside strings only ever make the
    bound larger (extra closing brackets are clamped at depth 0), so the bound is safe. Runs at C speed:
    the matched pairs are peeled level by level with a regex, at most ``limit + 1`` times.
    """
    brackets = data.translate(None, _NOT_BRACKETS)  # one C pass; what is left is small
    opens = brackets.count(b"[") + brackets.count(b"{")
    if before + opens <= limit:  # the common case: already safe
        return before + opens, max(0, before + opens - (len(brackets) - opens))
    levels = 0
    while brackets:
        brackets, peeled = _MATCHED_PAIR.subn(b"", brackets)
        if not peeled:
            break
        levels += 1
        if levels > limit:
            return before + levels, before + levels
    closes = len(brackets) - len(brackets.lstrip(b"]}"))
    opens = len(brackets) - closes
    return before + levels + opens, max(0, before - closes) + opens


def read_head(stream: InputStream, size: int) -> tuple[bytes, bool]:
    """Up to ``size`` bytes (BOM removed), and whether that is the whole stream."""
    parts: list[bytes] = []
    have = 0
    while have < size:
        chunk = stream.read(min(_CHUNK * 16, size - have))
        if not chunk:
            break
        parts.append(chunk)
        have += len(chunk)
    head = b"".join(parts)
    complete = have < size
    return (head[3:] if head.startswith(_BOM) else head), complete


def first_invalid_utf8(open_stream: Callable[[], InputStream]) -> int | None:
    """Byte offset of the first invalid UTF-8 sequence in a fresh stream, or ``None`` if all is valid."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open_stream() as stream:
        base = 0
        while True:
            chunk = stream.read(_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # exc.start counts from the bytes the decoder still buffered before this chunk
                buffered = len(exc.object) - len(chunk)
                return base - buffered + exc.start
            if not chunk:
                return None
            base += len(chunk)
