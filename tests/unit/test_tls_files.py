"""A wrong Kafka TLS file is a setting error naming it (schemas/tls_files.py); real files made by openssl."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from schemas.errors import ConfigError
from schemas.settings import load_settings
from spoolbridge.cli import _tls_file_error
from spoolbridge.stack.certs import TlsFiles, ensure_test_pki

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("tls")
    pki: TlsFiles = ensure_test_pki(base / "pki")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=base, check=True, capture_output=True)

    openssl("genrsa", "-out", "other.key", "2048")
    openssl("genrsa", "-aes256", "-passout", "pass:secret", "-out", "encrypted.key", "2048")
    (base / "garbage.pem").write_text("not a certificate\n")
    return {
        "ca": pki.ca,
        "cert": pki.client_cert,
        "key": pki.client_key,
        "other_key": base / "other.key",
        "encrypted_key": base / "encrypted.key",
        "garbage": base / "garbage.pem",
    }


def _check(files: dict[str, Path], ca: str, cert: str, key: str) -> None:
    load_settings(
        {
            "kafka": {
                "bootstrap_servers": "k:1",
                "security_protocol": "SSL",
                "ssl_cafile": files[ca],
                "ssl_certfile": files[cert],
                "ssl_keyfile": files[key],
            }
        }
    ).kafka.check_files()


def test_the_right_files_pass(files: dict[str, Path]) -> None:
    _check(files, "ca", "cert", "key")


@pytest.mark.parametrize(
    ("names", "setting", "says"),
    [
        (("ca", "cert", "other_key"), "kafka.ssl_keyfile", "is not the key of the certificate"),
        (("ca", "cert", "encrypted_key"), "kafka.ssl_keyfile", "is encrypted"),
        (("ca", "cert", "garbage"), "kafka.ssl_keyfile", "holds no PEM private key"),
        (("ca", "cert", "cert"), "kafka.ssl_keyfile", "holds no PEM private key"),
        (("ca", "garbage", "key"), "kafka.ssl_certfile", "holds no PEM certificate"),
        (("ca", "key", "key"), "kafka.ssl_certfile", "holds no PEM certificate"),
        (("garbage", "cert", "key"), "kafka.ssl_cafile", "holds no PEM certificate"),
    ],
)  # fmt: skip
def test_a_wrong_file_is_one_line_naming_its_setting(
    files: dict[str, Path], names: tuple[str, str, str], setting: str, says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _check(files, *names)
    assert caught.value.setting == setting
    assert says in caught.value.problem
    assert "\n" not in str(caught.value) and "secret" not in str(caught.value)


def test_librdkafka_refusing_a_file_names_the_setting() -> None:
    text = (
        'KafkaError{code=_INVALID_ARG,val=-186,str="Failed to create admin client: ssl.key.location failed: '
        'error:05800074:x509 certificate routines::key values mismatch"}'
    )
    error = _tls_file_error(Exception(text))
    assert error is not None
    assert str(error) == (
        "setting kafka.ssl_keyfile: the Kafka client cannot use this file "
        "(error:05800074:x509 certificate routines::key values mismatch)"
    )
    assert _tls_file_error(Exception("something else")) is None
