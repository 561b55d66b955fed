"""The local stack's SASL user: its password file is private from the first byte, and each format makes
a new password."""

from __future__ import annotations

from pathlib import Path

from spoolbridge.stack.sasl import SaslUser


def test_a_new_password_is_stored_0600_even_over_a_wider_file(tmp_path: Path) -> None:
    file = tmp_path / "kafka" / "sasl-password"
    file.parent.mkdir()
    file.write_text("old\n")
    file.chmod(0o644)
    user = SaslUser(file)
    password = user.random_password()
    user.store(password)
    assert file.stat().st_mode & 0o777 == 0o600
    assert user.password() == password != "old"
    assert user.random_password() != password


def test_the_scram_argument_holds_nothing_kafka_would_split(tmp_path: Path) -> None:
    user = SaslUser(tmp_path / "sasl-password")
    password = user.random_password()
    assert not set(password) & set(",=[]\"' ")
    assert user.scram_argument(password) == f"SCRAM-SHA-256=[name=spoolbridge,password={password}]"
