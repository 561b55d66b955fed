"""The README's SASL_SSL examples set what the end-to-end tests set (tests/e2e/test_check_cli.py)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import SaslEndpoint

README = Path(__file__).resolve().parents[2] / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def _sasl_examples(section: str) -> list[dict[str, str]]:
    """Each code block of ``section`` that sets SASL_SSL, as {variable: value}."""
    blocks = re.findall(r"```\n(.*?)```", section, flags=re.DOTALL)
    examples = []
    for block in blocks:
        exports = dict(re.findall(r"^export (SPOOLBRIDGE_\w+)=(\S+)", block, flags=re.MULTILINE))
        if exports.get("SPOOLBRIDGE_KAFKA__SECURITY_PROTOCOL") == "SASL_SSL":
            examples.append(exports)
    return examples


def test_the_aiven_and_local_stack_sasl_examples_set_what_the_tests_set() -> None:
    tested = SaslEndpoint("h:1", "u", Path("pw"), Path("ca.pem")).settings_env(password="x")
    examples = _sasl_examples(_section("Connecting to Aiven")) + _sasl_examples(
        _section("The local stack (no Docker needed)")
    )
    assert len(examples) == 2
    for example in examples:
        assert example.keys() == tested.keys()
        assert example["SPOOLBRIDGE_KAFKA__SASL_MECHANISM"] == tested["SPOOLBRIDGE_KAFKA__SASL_MECHANISM"]
