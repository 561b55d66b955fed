"""The page's shape detection (static/shape.js), run in the browser on heads of files: the producer's rules
(README "Input files") for shapes and positions, records cut by the end of the head left out."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import new_context

GEO = (
    '{"type": "FeatureCollection", "features": [{"type": "Feature", "id": 1}, {"type": "Feature", "id": 2}]}'
)

CASES: list[tuple[str, str, bool, str | None, dict[str, Any]]] = [
    ("a.json", '{"730": {"name": "x"}, "570": {"name": "y"}}', True, None,
     {"shape": "object", "positions": ["730", "570"]}),  # file order, though JavaScript sorts such keys
    ("a.json", '{"b": 1, "10": {"x": 1}}', True, None, {"shape": "single"}),  # the first value in the file
    ("a.json", '{"730": {"name": "x"}, "570": {"na', False, None, {"shape": "object", "positions": ["730"]}),
    ("a.json", '[{"a": 1}, {"a": 2.0}, {"a"', False, None, {"shape": "array", "positions": ["0", "1"]}),
    ("a.json.gz", '[{"a": 1}]', True, None, {"shape": "array", "positions": ["0"]}),
    ("a.jsonl", '{"a": 1}\n{"a": 2}\n{"a"', False, None, {"shape": "jsonl", "positions": ["1", "2"]}),
    ("a.ndjson", '{"a": 1}\n\n{"a": 2}\n', True, None, {"shape": "jsonl", "positions": ["1", "3"]}),
    ("a.jsonl", '{"a": 1}\nnot json\n', True, None,
     {"shape": "jsonl", "positions": ["1"], "warning": "line 2 is not JSON"}),
    ("geo.json", GEO, True, None, {"shape": "single", "positions": ["0"], "paths": ["features"]}),
    ("geo.json", GEO, True, "features", {"shape": "path", "positions": ["0", "1"], "paths": ["features"]}),
    ("a.json", "hello", True, None,
     {"shape": "invalid", "problem": 'not JSON: unexpected "h" at character 0'}),
    ("a.json", "", True, None, {"shape": "empty", "problem": "the file is empty"}),
    ("a.json", "42", True, None, {"shape": "scalar"}),
    ("a.json", '{"a": 1}\n{"a": 2}\n', True, None,
     {"shape": "single", "warning": "more JSON follows the first value: is this JSON Lines? Name it .jsonl"}),
]  # fmt: skip

_DETECT = """async (cases) => {
  const shape = await import("/static/shape.js");
  return cases.map(([name, text, whole, path]) => {
    const r = shape.detectShape(name, text, whole, path);
    const fields = [...shape.fieldsOf(r.records)];
    const kinds = Object.fromEntries(fields.map(([k, f]) => [k, [...f.kinds].sort()]));
    return { shape: r.shape, positions: r.positions ?? [], paths: r.paths ?? [], problem: r.problem ?? null,
             warning: r.warning ?? null, kinds };
  });
}"""


def test_shapes_and_positions_follow_the_producers_rules(browser: Any, page_only: str) -> None:
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(page_only)
        results = page.evaluate(_DETECT, [[name, text, whole, path] for name, text, whole, path, _ in CASES])
    finally:
        context.close()
    for (name, text, _, _, expected), got in zip(CASES, results, strict=True):
        for key, value in expected.items():
            if key == "warning":
                assert got[key] is not None and got[key].startswith(value), (name, text, got)
            else:
                assert got[key] == value, (name, text, key, got)
    assert results[3]["kinds"] == {"a": ["float", "integer"]}, "2.0 is a float as written, 1 an integer"


@pytest.mark.parametrize("size_kb", [64])
def test_a_head_cut_inside_a_string_keeps_the_complete_records(
    browser: Any, page_only: str, size_kb: int
) -> None:
    record = '{"name": "%s", "text": "%s"}'
    text = "[" + ",".join(record % (i, "y" * 500) for i in range(200)) + "]"
    head = text[: size_kb * 1024]
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(page_only)
        got = page.evaluate(_DETECT, [["big.json", head, False, None]])[0]
    finally:
        context.close()
    complete = head.count('"}')
    assert got["shape"] == "array"
    assert got["positions"] == [str(i) for i in range(complete)]
