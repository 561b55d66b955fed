"""The preview never cries wolf (issue 17, item 3): a file whose first 64 KB end inside a number, a
literal, a string, an escape, a key or a multi-byte UTF-8 character is previewed from its complete records,
as the browser reads it (the chosen file's first 64 KB, decoded); a whole file cut the same way is not JSON.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import new_context

HEAD_BYTES = 64 * 1024
RECORDS = 12  # each about 5 KB: the head holds exactly these, then the one the boundary cuts

#: (what the boundary cuts, the text before it, the text after it): the last record is cut between them.
BOUNDARIES = [
    ("number", '"lng": -75.', '123}}'),  # us-zips.json: an object keyed by zip code, cut at -75.
    ("sign", '"lng": -', '75.1}}'),
    ("exponent", '"lng": 1e', '-5}}'),
    ("literal", '"ok": tr', 'ue}}'),
    ("string", '"city": "Spring', 'field"}}'),
    ("escape", '"city": "a\\', '"b"}}'),
    ("unicode escape", '"city": "\\u00', 'e9"}}'),
    ("multi-byte character", '"city": "Montr\xc3', '\xa9al"}}'),  # é is C3 A9 in UTF-8: cut between
    ("key", '"ci', 'ty": "x"}}'),
]  # fmt: skip


def _file(before: str, after: str) -> bytes:
    """An object of zip-code records whose byte 65,536 is the first byte of ``after``."""
    record = '"%05d": {"city": "%s", "lat": 42.06, "lng": -72.5}'
    head = "{" + ", ".join(record % (i, "x" * 5000) for i in range(RECORDS)) + ', "99999": {"pad": "'
    tail = '", ' + before
    raw_before = head.encode() + tail.encode("latin-1")
    pad = HEAD_BYTES - len(raw_before)
    assert pad > 0
    return head.encode() + b"y" * pad + tail.encode("latin-1") + after.encode("latin-1")


def test_a_head_cut_anywhere_inside_a_value_previews_its_complete_records(
    browser: Any, page_only: str
) -> None:
    files = [_file(before, after) for _, before, after in BOUNDARIES]
    for (what, before, _), content in zip(BOUNDARIES, files, strict=True):
        assert content[:HEAD_BYTES].endswith(before.encode("latin-1")), what
    payloads = [
        {"name": f"cut-{i}.json", "mimeType": "application/json", "buffer": content}
        for i, content in enumerate(files)
    ]
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(page_only)
        page.set_input_files("#files", payloads)
        cards = page.locator(".file")
        cards.nth(len(files) - 1).locator(".preview table").wait_for()
        for index, (what, _, _) in enumerate(BOUNDARIES):
            card = cards.nth(index)
            assert card.locator(".problem").is_hidden(), (what, card.locator(".problem").inner_text())
            assert card.locator(".shape").inner_text() == "object of records", what
            assert card.locator(".preview tbody tr").count() == RECORDS, what
    finally:
        context.close()


@pytest.mark.parametrize(("what", "text"), [("number", '[{"a": -75.'), ("literal", '[{"a": tr')])
def test_a_whole_file_that_ends_inside_a_value_is_not_json(
    browser: Any, page_only: str, what: str, text: str
) -> None:
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(page_only)
        page.set_input_files(
            "#files", {"name": "short.json", "mimeType": "application/json", "buffer": text.encode()}
        )
        problem = page.locator(".file .problem")
        problem.wait_for()
        assert problem.inner_text().startswith("not JSON"), what
    finally:
        context.close()
