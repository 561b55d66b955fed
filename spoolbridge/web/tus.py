"""tus 1.0.0 (core protocol + the creation and termination extensions) over an :class:`UploadStore`.

==========================  =====================================================================
``OPTIONS /api/uploads``    what this server speaks: version, extensions, ``Tus-Max-Size``
``POST /api/uploads``       create: ``Upload-Length`` and ``Upload-Metadata`` (``filename``,
                            ``dataset``, optionally ``id_field`` and ``records_path``; base64)
                            -> 201 with ``Location``
``HEAD <location>``         ``Upload-Offset``: how many bytes the server has (resume from there)
``PATCH <location>``        append ``application/offset+octet-stream`` at ``Upload-Offset``
``DELETE <location>``       cancel: forget the upload and its bytes (409 once it is complete: the
                            file is the inbox's then)
``GET /api/uploads``        not tus: the unfinished uploads (``location``, ``dataset``, ``file_name``,
                            ``length``, ``offset``), the oldest first, for a page opened anew
==========================  =====================================================================

Deviations, all allowed by the protocol: ``Upload-Defer-Length`` is not offered (the page always knows a
file's size), and a PATCH to an upload that another PATCH is still writing gets 423 (the client asks HEAD
and tries again), because a connection that dropped may take a moment to be noticed. Bytes received before
a connection drops are kept; a PATCH with more bytes than the upload has room for is refused whole (400,
none of its bytes kept), so an upload is never completed from a truncated body. Once the last byte is
written the file is moved into its dataset's folder and the responses carry ``Spoolbridge-Source``: the
``source`` value its records will have, percent-encoded UTF-8 (``/`` kept), because a header value must
be Latin-1 and file names are not; an upload whose last byte shows that the id field it chose for a
new dataset repeats is answered 409 and deleted (see :mod:`.uploads`). Errors are 4xx with a one-line
``text/plain`` reason the page shows as it is; an upload cancelled or expired under a request is 410; a
full disk is 507 (the bytes that reached the disk are kept, so the upload resumes from there once space
is freed).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
from urllib.parse import quote

import anyio.to_thread
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from schemas.disk import is_disk_full

from .uploads import Upload, UploadError, UploadStore

__all__ = ["TUS_VERSION", "TusEndpoint", "parse_metadata"]

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
_WRITE_BYTES = 1 << 20  # bytes gathered before one write: few system calls, bounded memory per upload
_IOV_MAX = os.sysconf("SC_IOV_MAX")  # the most buffers one writev takes
_DIGITS = re.compile(r"[0-9]{1,20}")  # ASCII only: str.isdigit() also takes "²", which int() refuses
_GONE = "the upload was cancelled or expired; start it again"


def parse_metadata(header: str) -> dict[str, str]:
    """``Upload-Metadata`` (``key base64,key base64``) as text; raises :class:`UploadError` 400."""
    values: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in header.split(","))):
        key, _, encoded = pair.partition(" ")
        try:
            values[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise UploadError(400, f"Upload-Metadata {key!r} is not base64 of UTF-8 text") from None
    return values


class TusEndpoint:
    """The five handlers; each answers with the ``Tus-Resumable`` header."""

    def __init__(self, store: UploadStore, base_path: str = "/api/uploads") -> None:
        self.store = store
        self.base_path = base_path
        self._writing: set[str] = set()

    async def options(self, request: Request) -> Response:
        return self._reply(
            204,
            headers={
                "Tus-Version": TUS_VERSION,
                "Tus-Extension": "creation,termination",
                "Tus-Max-Size": str(self.store.max_bytes),
            },
        )

    async def unfinished(self, request: Request) -> Response:
        """The unfinished uploads, from the server's own records (no browser needs to remember them)."""
        found = await anyio.to_thread.run_sync(self.store.unfinished)
        uploads = [
            {"location": f"{self.base_path}/{upload.id}", "dataset": upload.dataset,
             "file_name": upload.file_name, "length": upload.length, "offset": offset}
            for upload, offset in found
        ]  # fmt: skip
        return JSONResponse({"uploads": uploads}, headers={"Cache-Control": "no-store"})

    async def create(self, request: Request) -> Response:
        try:
            self._check_version(request)
            length = _number(request, "Upload-Length")
            meta = parse_metadata(request.headers.get("Upload-Metadata", ""))
            dataset, name = meta.get("dataset", ""), meta.get("filename", "")
            if not name:
                raise UploadError(400, "Upload-Metadata has no filename")
            id_field = meta.get("id_field") or None
            records_path = meta.get("records_path") or None
            upload = await anyio.to_thread.run_sync(
                self.store.create, dataset, name, length, id_field, records_path
            )
        except UploadError as exc:
            return self._error(exc)
        headers = {"Location": f"{self.base_path}/{upload.id}", **_source(upload)}
        return self._reply(201, headers=headers)

    async def head(self, request: Request) -> Response:
        try:
            self._check_version(request)
            upload = self.store.get(request.path_params["upload_id"])
            offset = self.store.offset(upload)
        except UploadError as exc:
            return self._error(exc, body=False)
        headers = {
            "Upload-Offset": str(offset),
            "Upload-Length": str(upload.length),
            "Cache-Control": "no-store",
            **_source(upload),
        }
        return self._reply(200, headers=headers)

    async def patch(self, request: Request) -> Response:
        upload_id = request.path_params["upload_id"]
        try:
            self._check_version(request)
            if request.headers.get("Content-Type") != "application/offset+octet-stream":
                raise UploadError(415, "PATCH needs Content-Type: application/offset+octet-stream")
            upload = self.store.get(upload_id)
            offset = _number(request, "Upload-Offset")
            if upload_id in self._writing:
                raise UploadError(423, "another request is still writing this upload; ask HEAD, then retry")
            fd = self.store.open_at(upload, offset)
        except FileNotFoundError:
            return self._error(UploadError(410, _GONE))
        except UploadError as exc:
            return self._error(exc)
        too_long = _too_long(request, upload.length, offset)
        if too_long is not None:  # refused before a byte is read
            os.close(fd)
            return self._error(too_long, headers={"Upload-Offset": str(offset)})
        # held until the upload is finished too: a DELETE or the expiry must not remove the bytes under it
        self._writing.add(upload_id)
        try:
            try:
                offset, overflow = await self._append(request, fd, offset, upload.length)
            except OSError as exc:
                if not is_disk_full(exc):
                    raise
                return self._disk_full(upload)
            finally:
                os.close(fd)
            if overflow:
                raise UploadError(
                    400, f"more bytes than Upload-Length {upload.length}; none of this request's were kept"
                )
            if offset == upload.length:
                upload = await anyio.to_thread.run_sync(self.store.finish, upload)
        except FileNotFoundError:
            return self._error(UploadError(410, _GONE))
        except UploadError as exc:
            return self._error(exc, headers={"Upload-Offset": str(offset)})
        finally:
            self._writing.discard(upload_id)
        return self._reply(204, headers={"Upload-Offset": str(offset), **_source(upload)})

    @property
    def writing(self) -> frozenset[str]:
        """The uploads a request is writing or finishing now (the expiry leaves them alone)."""
        return frozenset(self._writing)

    async def delete(self, request: Request) -> Response:
        try:
            self._check_version(request)
            upload = self.store.get(request.path_params["upload_id"])
            if upload.id in self._writing:
                raise UploadError(423, "a request is still writing this upload; try again in a moment")
            if upload.source is not None:  # its last byte came first: the file is the inbox's
                raise UploadError(
                    409, f"too late to cancel: the upload is complete and {upload.source} is in the inbox"
                )
            await anyio.to_thread.run_sync(self.store.cancel, upload)
        except UploadError as exc:
            return self._error(exc)
        return self._reply(204)

    async def _append(self, request: Request, fd: int, offset: int, length: int) -> tuple[int, bool]:
        """Write the body to ``fd`` up to ``length``; returns the new offset and whether the body was longer
        (then nothing of it is kept: the file is cut back to ``offset``). A dropped connection ends the
        body: what arrived is kept."""
        start = offset
        pending: list[bytes] = []  # received chunks not yet written, written together without a copy
        size = 0
        overflow = False
        try:
            async for received in request.stream():
                room = length - offset - size
                overflow = len(received) > room
                chunk = received[:room] if overflow else received
                pending.append(chunk)
                size += len(chunk)
                if overflow:
                    await anyio.to_thread.run_sync(os.ftruncate, fd, start)
                    return start, True
                if size >= _WRITE_BYTES:
                    await anyio.to_thread.run_sync(_write_all, fd, pending)
                    offset, pending, size = offset + size, [], 0
        except ClientDisconnect:
            log.info("upload=%s offset=%d event=connection_dropped", request.path_params["upload_id"], offset)
        if pending:
            await anyio.to_thread.run_sync(_write_all, fd, pending)
            offset += size
        return offset, overflow

    def _disk_full(self, upload: Upload) -> Response:
        """507: a PATCH whose bytes did not fit; what reached the disk is kept, at the offset HEAD says."""
        offset = self.store.offset(upload)
        log.warning(
            "upload=%s dataset=%s offset=%d length=%d event=disk_full action=kept_bytes_received",
            upload.id, upload.dataset, offset, upload.length,
        )  # fmt: skip
        reason = (
            f"the server's disk is full: {upload.length - offset} more bytes of {upload.file_name!r} do "
            f"not fit. The first {offset} bytes are kept; resume the upload once space is freed."
        )
        return self._error(UploadError(507, reason), headers={"Upload-Offset": str(offset)})

    @staticmethod
    def _check_version(request: Request) -> None:
        if request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise UploadError(412, f"this server speaks tus {TUS_VERSION}: send Tus-Resumable: {TUS_VERSION}")

    def _error(
        self, exc: UploadError, *, body: bool = True, headers: dict[str, str] | None = None
    ) -> Response:
        extra = {"Tus-Version": TUS_VERSION} if exc.status == 412 else {}
        return self._reply(exc.status, str(exc) if body else "", headers={**extra, **(headers or {})})

    @staticmethod
    def _reply(status: int, text: str = "", headers: dict[str, str] | None = None) -> Response:
        all_headers = {"Tus-Resumable": TUS_VERSION, **(headers or {})}
        if not text:
            return Response(status_code=status, headers=all_headers)
        return PlainTextResponse(text + "\n", status_code=status, headers=all_headers)


def _number(request: Request, header: str) -> int:
    text = request.headers.get(header)
    if text is None or not _DIGITS.fullmatch(text):
        raise UploadError(400, f"{header} must be a number of bytes")
    return int(text)


def _too_long(request: Request, length: int, offset: int) -> UploadError | None:
    """A 400 when ``Content-Length`` says the body is longer than what the upload has left."""
    declared = request.headers.get("Content-Length")
    if declared is None or not _DIGITS.fullmatch(declared) or int(declared) <= length - offset:
        return None
    return UploadError(
        400,
        f"more bytes than Upload-Length {length}: the body is {declared} bytes and {length - offset} "
        "are left; none were kept",
    )


def _source(upload: Upload) -> dict[str, str]:
    if upload.source is None:
        return {}
    return {"Spoolbridge-Source": quote(upload.source, safe="/")}


def _write_all(fd: int, chunks: list[bytes]) -> None:
    """Write every byte of ``chunks`` in order (``writev`` may write less than asked: go on from there)."""
    views = [memoryview(chunk) for chunk in chunks if chunk]
    while views:
        written = os.writev(fd, views[:_IOV_MAX])
        while views and written >= len(views[0]):
            written -= len(views.pop(0))
        if written:
            views[0] = views[0][written:]
