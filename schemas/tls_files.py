"""The Kafka TLS files (Aiven: ``ca.pem``, ``service.cert``, ``service.key``) checked before librdkafka
sees them, so a wrong file is a setting error naming it — not librdkafka's "ssl.key.location failed: …
key values mismatch" at the first client.

Python's :mod:`ssl` parses them the way librdkafka does (both are OpenSSL). Nothing secret is read into
a message: only the setting, the path and what is wrong with the file.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from schemas.errors import ConfigError

__all__ = ["check_tls_files"]


class _PasswordNeededError(Exception):
    """Raised by the password callback: the key is encrypted (OpenSSL would otherwise prompt for it)."""


def _no_password() -> bytes:
    raise _PasswordNeededError


def check_tls_files(cafile: Path | None, certfile: Path | None, keyfile: Path | None) -> None:
    """Raise :class:`ConfigError` naming ``kafka.ssl_cafile``, ``kafka.ssl_certfile`` or ``kafka.ssl_keyfile``
    when that file is not what it must be; the files must exist (checked before)."""
    if cafile is not None:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile)
        except ssl.SSLError:
            raise ConfigError(
                "kafka.ssl_cafile",
                f"{cafile} holds no PEM certificate: use the service's CA certificate (Aiven: ca.pem)",
            ) from None
    if certfile is not None:
        try:  # parses every certificate in the file, whatever it signs
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(certfile)
        except ssl.SSLError:
            raise ConfigError(
                "kafka.ssl_certfile",
                f"{certfile} holds no PEM certificate: use the client certificate (Aiven: service.cert)",
            ) from None
    if keyfile is not None:
        _check_key(keyfile, certfile)


def _check_key(keyfile: Path, certfile: Path | None) -> None:
    no_key = f"{keyfile} holds no PEM private key: use the client key (Aiven: service.key)"
    if certfile is None:  # nothing to pair it with: it must at least look like an unencrypted PEM key
        text = keyfile.read_bytes()
        if b"PRIVATE KEY-----" not in text:
            raise ConfigError("kafka.ssl_keyfile", no_key)
        if b"ENCRYPTED" in text:
            raise ConfigError("kafka.ssl_keyfile", _encrypted(keyfile))
        return
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(certfile, keyfile, password=_no_password)
    except _PasswordNeededError:
        raise ConfigError("kafka.ssl_keyfile", _encrypted(keyfile)) from None
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise ConfigError(
                "kafka.ssl_keyfile",
                f"{keyfile} is not the key of the certificate in kafka.ssl_certfile ({certfile}): use the "
                "service.key downloaded with that service.cert",
            ) from None
        raise ConfigError("kafka.ssl_keyfile", no_key) from None


def _encrypted(keyfile: Path) -> str:
    return (
        f"{keyfile} is encrypted (spoolbridge takes no key password): decrypt it with "
        f"`openssl pkey -in {keyfile.name} -out service.key` (Aiven's service.key is not encrypted)"
    )
