"""The ijson path's look for lone surrogate escapes (``producer.streamed``): pairs pass, lone ones and
what cannot be told from the bytes at hand send the file to the exact (pure-Python) backend."""

from __future__ import annotations

import pytest

from producer.read.framing.json_streamed import may_hold_lone_surrogate


@pytest.mark.parametrize(
    ("text", "lone"),
    [
        (rb'["\ud83d\ude00"]', False),  # a pair
        (rb'["\uD83D\uDE00", "\udbff\udfff"]', False),
        (rb'["\ud800"]', True),  # a lone high surrogate
        (rb'["\ud800x"]', True),
        (rb'["\ud800\u0041"]', True),
        (rb'["\ud800\ud800\udc00"]', True),  # a high one after a high one
        (rb'["\udc00"]', True),  # a lone low surrogate
        (rb'["\ud83d\ude00\ude00"]', True),  # a pair, then a lone low one
        (rb'["\\ud800"]', False),  # an escaped backslash, then text: no escape at all
        (rb'["\\\ud83d\ude00"]', False),  # an escaped backslash, then a pair
        (rb'["\\ud800\udc00"]', True),  # text, then a real lone low surrogate
        (rb'["\\\ud800"]', True),
        (rb'["\u00e9 \ud7ff \ue000"]', False),  # not surrogates
    ],
)
def test_lone_surrogate_escapes_are_found_and_pairs_pass(text: bytes, lone: bool) -> None:
    assert may_hold_lone_surrogate(text, 0, len(text)) is lone


def test_what_cannot_be_told_from_the_bytes_at_hand_counts_as_lone() -> None:
    assert may_hold_lone_surrogate(rb'["\ud83d', 0, 8) is True  # the partner is not in the buffer
    assert may_hold_lone_surrogate(rb'\\\ud83d\ude00"]', 0, 16) is True  # the backslashes reach the start
    # only escapes starting in [start, end) are judged (the rest was, or will be, judged with its context)
    assert may_hold_lone_surrogate(rb'["\ud800", "\ud83d\ude00"]', 10, 27) is False
