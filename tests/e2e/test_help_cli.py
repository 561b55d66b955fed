"""Every command's ``--help`` shows each option's real default once: the settings model's, not argparse's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.settings import Settings, default_stack_dir

COMMANDS = ["run", "produce", "consume", "status", "check", "connect-config", "stack", "web"]
CONNECTION = ["--bootstrap-servers", "--topic", "--opensearch-url", "--index", "--group"]
DEFAULTS = Settings()

#: option -> the default its help must show (what the command uses when nothing sets it)
EXPECTED = {
    "--inbox": str(DEFAULTS.producer.inbox),
    "--settle-ms": str(DEFAULTS.producer.settle_ms),
    "--topic": DEFAULTS.kafka.topic,
    "--group": DEFAULTS.consumer.group,
    "--bootstrap-servers": "the local stack",
    "--opensearch-url": "the local stack",
    "--index": "the topic name",
    "--config": "./spoolbridge.toml, or $SPOOLBRIDGE_CONFIG",
}


def _help(*args: str, env: dict[str, str] | None = None) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SPOOLBRIDGE_")}
    result = subprocess.run(
        [sys.executable, "-m", "spoolbridge.cli", *args, "--help"],
        capture_output=True,
        text=True,
        env={**base, "COLUMNS": "100", **(env or {})},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _options(text: str) -> dict[str, str]:
    """Each ``--option`` of a help text with its help, wrapped lines joined."""
    options: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        match = re.match(r"^  (-\w, )?(--[\w-]+)", line)
        if match:
            current = match.group(2)
            options[current] = line[match.end() :]
        elif current and line.startswith("      "):
            options[current] += " " + line.strip()
        else:
            current = None
    return {name: " ".join(help_text.split()) for name, help_text in options.items()}


@pytest.mark.parametrize("command", COMMANDS)
def test_each_option_shows_its_real_default_once(command: str) -> None:
    options = _options(_help(command))
    assert "--config" in options and "--debug" in options
    for name, help_text in options.items():
        assert help_text.count("(default:") <= 1, f"{command} {name}: {help_text}"
        assert "(default: None)" not in help_text, f"{command} {name}: {help_text}"
        assert "(default: False)" not in help_text, f"{command} {name}: {help_text}"
        if name in EXPECTED:
            assert help_text.endswith(f"(default: {EXPECTED[name]})"), f"{command} {name}: {help_text}"


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "stack"])
def test_every_command_but_stack_takes_the_connection_options(command: str) -> None:
    options = _options(_help(command))
    assert set(CONNECTION) <= set(options)


def test_stack_offers_only_what_means_something_to_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    options = _options(_help("stack", env={"XDG_STATE_HOME": str(state)}))
    assert not set(CONNECTION) & set(options)
    shown = options["--dir"].replace(" ", "")  # argparse may wrap a long path at a hyphen
    assert shown.endswith(f"(default:{state / 'spoolbridge' / 'stack'})")
    assert default_stack_dir().is_absolute()


def test_top_level_help_lists_every_command() -> None:
    text = _help()
    for command in COMMANDS:
        assert command in text
