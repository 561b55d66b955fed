"""A TCP proxy in front of the page that a test can hold and cut at a chosen byte, as a stalled or dropped
network would: deterministic whatever the machine's speed."""

from __future__ import annotations

import contextlib
import socket
import threading

__all__ = ["CuttingProxy"]


class CuttingProxy:
    """Forwards ``127.0.0.1:<port>`` to ``127.0.0.1:<target_port>``; ``forwarded`` counts the bytes sent
    towards the server. :meth:`hold_at` stalls the connection that carries the byte past that many (until
    :meth:`release`; other connections go on); :meth:`cut_at` drops every open connection once that many
    went through (new ones are accepted again). Use as a context manager."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self.forwarded = 0
        self.cuts = 0
        self._hold: int | None = None
        self._cut: int | None = None
        self._released = threading.Event()
        self._held: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def __enter__(self) -> CuttingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self.release()
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accept (a close alone does not)
        self._server.close()
        self._thread.join(timeout=10)
        self.cut()  # after the accept thread ended: no connection it opens escapes

    def hold_at(self, total: int) -> None:
        self._released.clear()
        self._held = None
        self._hold = total

    def release(self) -> None:
        self._hold = None
        self._held = None
        self._released.set()

    def cut_at(self, total: int) -> None:
        self._cut = total

    def cut(self) -> None:
        with self._lock:
            sockets, self._open = self._open, []
            self.cuts += 1
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self._stopped.is_set():
                client.close()
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._open += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, towards_server: bool) -> None:
        try:
            while data := source.recv(1 << 16):
                cut_after = False
                if towards_server:
                    data, cut_after = self._gate(source, data)
                target.sendall(data)
                if cut_after:  # the bytes up to the cut reached the server; now every connection drops
                    self.cut()
                    return
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _gate(self, source: socket.socket, data: bytes) -> tuple[bytes, bool]:
        """What of ``data`` goes on now, and whether to cut after it. The connection that crosses the hold
        mark waits until released; the others (a reload, say) go on."""
        if self._hold is not None and self.forwarded >= self._hold:
            with self._lock:
                self._held = self._held or source
            if source is self._held:
                self._released.wait()
        with self._lock:
            cut = self._cut
            if cut is not None and self.forwarded + len(data) >= cut:
                self._cut = None
                data = data[: max(0, cut - self.forwarded)]
                self.forwarded += len(data)
                return data, True
            self.forwarded += len(data)
            return data, False
