"""Decompression: an input file as a stream of decompressed bytes, with positions and clear errors.

:class:`InputStream` reads a plain or ``.gz`` file (the name says which), counts the (decompressed) bytes
handed out so errors can say where they happened, and converts gzip/zlib/IO failures into
:class:`~schemas.errors.InputFileError`. Every framing reads its file through it.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from producer.read.records import CUT_FILE_HINT
from schemas.errors import InputFileError

__all__ = ["InputStream", "first_invalid_utf8", "is_gzip_name", "read_head"]

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
                hint=CUT_FILE_HINT,
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
