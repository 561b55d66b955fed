"""A test PKI for the broker's TLS listener, laid out the way Aiven hands it out.

``ca.pem`` (the CA), ``service.cert`` + ``service.key`` (a client certificate the broker accepts), and the
broker's own ``server-keystore.pem`` (certificate followed by an unencrypted PKCS#8 key, Kafka's PEM
keystore format). Made once with the ``openssl`` command and reused.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from schemas.errors import StackError

from .toolchain import require_tool


@dataclass(frozen=True)
class TlsFiles:
    dir: Path

    @property
    def ca(self) -> Path:
        return self.dir / "ca.pem"

    @property
    def client_cert(self) -> Path:
        return self.dir / "service.cert"

    @property
    def client_key(self) -> Path:
        return self.dir / "service.key"

    @property
    def server_keystore(self) -> Path:
        return self.dir / "server-keystore.pem"

    def complete(self) -> bool:
        return all(p.is_file() for p in (self.ca, self.client_cert, self.client_key, self.server_keystore))


def ensure_test_pki(directory: Path) -> TlsFiles:
    """Create the CA, broker and client certificates in ``directory`` unless they already exist."""
    files = TlsFiles(directory)
    if files.complete():
        return files
    openssl = require_tool("openssl", "install OpenSSL (Debian: apt-get install openssl)")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "server.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"
    )
    (directory / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    days = "3650"
    steps = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", days, "-subj", "/CN=spoolbridge-test-ca",
         "-keyout", "ca.key", "-out", "ca.pem"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
         "-out", "server.csr"],
        ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-days", days, "-sha256", "-extfile", "server.ext", "-out", "server.crt"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=spoolbridge-client", "-keyout", "service.key",
         "-out", "client.csr"],
        ["x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-days", days, "-sha256", "-extfile", "client.ext", "-out", "service.cert"],
        ["pkcs8", "-topk8", "-nocrypt", "-in", "server.key", "-out", "server.pk8"],
    ]  # fmt: skip
    for args in steps:
        result = subprocess.run([openssl, *args], cwd=directory, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise StackError(
                f"openssl {args[0]} failed while making test certificates: {result.stderr[:300]}"
            )
    keystore = (directory / "server.crt").read_text() + (directory / "server.pk8").read_text()
    files.server_keystore.write_text(keystore)
    for private in ("ca.key", "server.key", "server.pk8", "service.key", "server-keystore.pem"):
        (directory / private).chmod(0o600)
    return files
