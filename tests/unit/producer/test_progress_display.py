"""The producer's progress display (producer/progress.py): events for ``run``, rich on a terminal."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from rich.console import Console

from producer.progress import EventProgress, NoProgress, RichProgress, file_progress, replay_event


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def start(self, source: str, size: int | None) -> None:
        self.calls.append(("start", source, size))

    def advance(self, records: int, sent_bytes: int) -> None:
        self.calls.append(("advance", records, sent_bytes))

    def finish(self, outcome: str) -> None:
        self.calls.append(("finish", outcome))

    def close(self) -> None:
        self.calls.append(("close",))


def test_events_replayed_by_the_supervisor_make_the_same_calls() -> None:
    stream = io.StringIO()
    events = EventProgress(stream)
    events.start("games/a.json", 2_000_000)
    events.advance(1000, 400_000)
    events.finish("done")
    recorder = Recorder()
    for line in [*stream.getvalue().splitlines(), "not an event", "[1, 2]"]:
        replay_event(line, recorder)
    assert recorder.calls == [
        ("start", "games/a.json", 2_000_000),
        ("advance", 1000, 400_000),
        ("finish", "done"),
    ]


def test_the_rich_display_shows_the_file_records_rate_and_totals() -> None:
    out = io.StringIO()
    display = RichProgress(2, console=Console(file=out, force_terminal=True, width=120))
    display.start("games/steam.json", 1_000_000)
    display.advance(5000, 2_000_000)  # more record bytes than the file: shown as 99 %, never done early
    task = next(t for t in display._progress.tasks if t.description == "games/steam.json")
    assert task.completed == 990_000 and task.fields["records"] == 5000
    assert task.fields["rate"].endswith("MB/s")
    display.finish("done")
    display.close()
    text = out.getvalue()
    assert "games/steam.json" in text and "files (1 done)" in text and "5,000 records" in text


def test_no_display_when_not_a_terminal_or_asked_for_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal
    assert isinstance(file_progress("off"), NoProgress)
    assert isinstance(file_progress("auto"), NoProgress)
    assert isinstance(file_progress("events"), EventProgress)


def test_log_lines_print_above_the_display_not_into_it(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = io.StringIO()
    monkeypatch.setattr(sys, "stderr", terminal)
    handler = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        out = io.StringIO()
        display = RichProgress(1, console=Console(file=out, force_terminal=True, width=120))
        assert handler.stream is not terminal  # rich's proxy while the display is up
        logging.getLogger("producer.pipeline").warning("file=a.json event=end records=3")
        display.close()
        assert handler.stream is terminal
    finally:
        root.removeHandler(handler)
    assert "file=a.json event=end records=3" in out.getvalue()
    assert terminal.getvalue() == ""
