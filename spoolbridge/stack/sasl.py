"""The local Kafka's SASL/SCRAM user, handed out the way Aiven hands one out: a name and a password.

The password is made at random when Kafka's storage is formatted — the user is written into the cluster
metadata then (``kafka-storage format --add-scram``) — and kept in ``<stack dir>/kafka/sasl-password``,
mode 0600. Nothing prints it: commands show the file's path.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.errors import StackError

SASL_USERNAME = "spoolbridge"
SASL_MECHANISM = "SCRAM-SHA-256"
#: Kafka's minimum for SCRAM-SHA-256, and what ``--add-scram`` uses when none is given.
_ITERATIONS = 4096


@dataclass(frozen=True)
class SaslUser:
    password_file: Path
    username: str = SASL_USERNAME
    mechanism: str = SASL_MECHANISM

    def exists(self) -> bool:
        return self.password_file.is_file()

    def password(self) -> str:
        """The stored password (for the test harness and scripts; never to be printed)."""
        return self.password_file.read_text().strip()

    @staticmethod
    def random_password() -> str:
        return secrets.token_urlsafe(24)  # letters, digits, - and _: nothing --add-scram would parse

    def store(self, password: str) -> None:
        """Keep ``password`` in the file, replacing any earlier one; the file is 0600 from the start."""
        self.password_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, 0o600)  # an earlier file keeps its mode through O_CREAT
            os.write(fd, f"{password}\n".encode())
        finally:
            os.close(fd)

    def scram_argument(self, password: str) -> str:
        """The value of ``kafka-storage format --add-scram`` that creates this user."""
        return f"{self.mechanism}=[name={self.username},password={password}]"

    def create_on(self, admin: Any, password: str) -> None:
        """Create (or reset) the user on a running cluster through ``admin`` (an ``AdminClient``) — for a
        stack whose storage was formatted before it had a SASL listener. Raises StackError."""
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import (  # type: ignore[attr-defined]  # public, but not in its __all__
            ScramCredentialInfo,
            ScramMechanism,
            UserScramCredentialUpsertion,
        )

        upsert = UserScramCredentialUpsertion(
            self.username,
            ScramCredentialInfo(ScramMechanism[self.mechanism.replace("-", "_")], _ITERATIONS),
            password.encode(),
        )
        try:
            for future in admin.alter_user_scram_credentials([upsert]).values():
                future.result(timeout=30)
        except KafkaException as exc:
            raise StackError(f"creating the Kafka SASL user {self.username} failed: {exc}") from None
