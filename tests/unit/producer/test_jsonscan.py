"""The C scanner (``producer.read.framing._jsonscan``): the JSON grammar, exact error offsets, incomplete
input, items."""

from __future__ import annotations

import orjson
import pytest

from producer.read.format import json_values as parse

jsonscan = pytest.importorskip("producer.read.framing._jsonscan")

OK, INCOMPLETE, DONE = jsonscan.OK, jsonscan.INCOMPLETE, jsonscan.DONE
TOKEN, UTF8, DEPTH = jsonscan.ERR_TOKEN, jsonscan.ERR_UTF8, jsonscan.ERR_DEPTH
CONTROL, ESCAPE, NUMBER = jsonscan.ERR_CONTROL, jsonscan.ERR_ESCAPE, jsonscan.ERR_NUMBER
OBJECT, HAS_FIELD, UNSURE = jsonscan.FLAG_OBJECT, jsonscan.FLAG_HAS_FIELD, jsonscan.FLAG_UNSURE
EMPTY, BIG_INT, BIG_EXP = jsonscan.FLAG_EMPTY, jsonscan.FLAG_BIG_INT, jsonscan.FLAG_BIG_EXP
SURROGATE = jsonscan.FLAG_SURROGATE
MAX_DEPTH = 1024

VALID = [
    b"0",
    b"-0",
    b"7",
    b"-12",
    b"1.5",
    b"-0.25e10",
    b"1E+2",
    b"1e-2",
    b"2.5E-007",
    b"true",
    b"false",
    b"null",
    b'""',
    b'"plain text"',
    b'"\\" \\\\ \\/ \\b \\f \\n \\r \\t"',
    b'"\\u00e9\\u00E9 \\uD83D\\uDE00"',
    '"é ✓ 😀 \u07ff \u0800 \uffff \U00010000 \U0010ffff"'.encode(),
    b"[]",
    b"{}",
    b"[ ]",
    b"{ \t\r\n}",
    b'[1, [2, {"a": [3, null]}], true]',
    b'{"a": {"b": {}}, "c": [], "d": "x"}',
    b'{"k":1,"l":[1,2,3],"m":{"n":"o"}}',
    b'["a long string that spans more than eight bytes, with \\"escapes\\" inside"]',
    b"[" * MAX_DEPTH + b"]" * MAX_DEPTH,
]


@pytest.mark.parametrize("text", VALID, ids=range(len(VALID)))
def test_valid_values_scan_to_their_end(text: bytes) -> None:
    orjson.loads(text)  # the table itself is valid JSON
    assert jsonscan.scan_value(text, 0, True, 0, MAX_DEPTH)[:2] == (OK, len(text))
    inside = b"[" + text + b" , 1]"  # the same value followed by more of its container
    assert jsonscan.scan_value(inside, 1, False, 1, MAX_DEPTH + 1)[:2] == (OK, 1 + len(text))


INVALID = [
    (b"[01]", TOKEN, 2),
    (b"[1,]", TOKEN, 3),
    (b"[,1]", TOKEN, 1),
    (b"[1 2]", TOKEN, 3),
    (b"[1]]", OK, 3),  # the value ends at 3; what follows is the caller's business
    (b'{"a" 1}', TOKEN, 5),
    (b'{"a":1,}', TOKEN, 7),
    (b'{"a":1 "b":2}', TOKEN, 7),
    (b"{1:2}", TOKEN, 1),
    (b"{'a':1}", TOKEN, 1),
    (b"[-]", NUMBER, 2),
    (b"[-a]", NUMBER, 2),
    (b"[1.]", NUMBER, 3),
    (b"[1.e5]", NUMBER, 3),
    (b"[1e]", NUMBER, 3),
    (b"[1e+]", NUMBER, 4),
    (b"[.5]", TOKEN, 1),
    (b"[+1]", TOKEN, 1),
    (b"[0x10]", TOKEN, 2),
    (b"[NaN]", TOKEN, 1),
    (b"[Infinity]", TOKEN, 1),
    (b"[tru]", TOKEN, 4),
    (b"[trUe]", TOKEN, 3),
    (b"[nul1]", TOKEN, 4),
    (b"[truex]", TOKEN, 5),
    (b'["a\x01"]', CONTROL, 3),
    (b'["a\nb"]', CONTROL, 3),
    (b'["\\x"]', ESCAPE, 2),
    (b'["\\u12g4"]', ESCAPE, 2),
    (b'["\\U0041"]', ESCAPE, 2),
    (b'["\xff"]', UTF8, 2),
    (b'["ok\x80"]', UTF8, 4),
    (b'["\xc0\x80"]', UTF8, 2),  # overlong
    (b'["\xe0\x80\x80"]', UTF8, 2),  # overlong
    (b'["\xed\xa0\x80"]', UTF8, 2),  # an encoded UTF-16 surrogate
    (b'["\xf4\x90\x80\x80"]', UTF8, 2),  # beyond U+10FFFF
    (b'["\xe0\x41"]', UTF8, 2),  # a sequence cut short by an ASCII byte
    (b'["\xc3"]', UTF8, 2),
    (b"[\xff]", UTF8, 1),
    (b"[\xc3\xa9]", TOKEN, 1),  # valid UTF-8, but not a JSON token
    (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), DEPTH, MAX_DEPTH),
    (b'{"a":' * 2000, DEPTH, 5 * MAX_DEPTH),  # refused as soon as seen, before the end
]


@pytest.mark.parametrize(("text", "status", "offset"), INVALID, ids=range(len(INVALID)))
def test_invalid_json_is_refused_at_the_offending_byte(text: bytes, status: int, offset: int) -> None:
    if status != OK:
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(text)  # the table agrees with orjson
    assert jsonscan.scan_value(text, 0, True, 0, MAX_DEPTH)[:2] == (status, offset)


SPLIT_DOCUMENT = (
    '{"a": [1, -23.5e-7, "x\\u00e9\\"y", true, null, "é😀"], "b": {"c": false}, "s": "\\ud83d\\ude00\\ud800"}'
).encode()


@pytest.mark.parametrize("cut", range(1, len(SPLIT_DOCUMENT)))
def test_a_value_cut_anywhere_is_incomplete_never_an_error(cut: int) -> None:
    # covers cuts inside strings, escapes, \u sequences, numbers, literals and multi-byte UTF-8
    for final in (False, True):
        assert jsonscan.scan_value(SPLIT_DOCUMENT[:cut], 0, final, 0, MAX_DEPTH)[:2] == (INCOMPLETE, 0)


@pytest.mark.parametrize(
    ("text", "flags"),
    [(b'["\\ud83d\\ude00"]', 0), (b'["\\ud83d\\u0041"]', SURROGATE), (b'["\\ud83d"]', SURROGATE)],
)
def test_a_surrogate_pair_cut_anywhere_is_judged_once_complete(text: bytes, flags: int) -> None:
    # a high surrogate at the end of the buffer: whether it is lone depends on the bytes after it
    for cut in range(1, len(text)):
        assert jsonscan.scan_value(text[:cut], 0, True, 0, MAX_DEPTH)[:2] == (INCOMPLETE, 0)
    assert jsonscan.scan_value(text, 0, True, 0, MAX_DEPTH) == (OK, len(text), flags)


def test_a_number_at_the_end_of_the_input_is_complete_only_when_final() -> None:
    assert jsonscan.scan_value(b"123", 0, False, 0, MAX_DEPTH)[0] == INCOMPLETE
    assert jsonscan.scan_value(b"123", 0, True, 0, MAX_DEPTH)[:2] == (OK, 3)


@pytest.mark.parametrize(
    ("text", "flags"),
    [
        (b"[1]", 0),
        (b'"source"', 0),
        (b'{"a": 1}', OBJECT),
        (b"{ }", OBJECT | EMPTY),
        (b'{"source": 1}', OBJECT | HAS_FIELD),
        (b'{"a": {"source": 1}}', OBJECT),  # only the record's own keys count
        (b'{"sourc\\u0065": 1}', OBJECT | UNSURE),  # an escaped key might be the field
        (b'{"a": {"b\\n": 1}}', OBJECT | UNSURE),
        (b'{"a": 1, "a": 2}', OBJECT | UNSURE),  # repeated keys: the parsed record keeps the last
        (b'{"x": {"a": 1, "b": 2, "a": 3}}', OBJECT | UNSURE),
        (b'{"x": {"a": 1}, "y": {"a": 1}}', OBJECT),  # the same key in two objects is fine
        (b'{"a": 12345678901234567890}', OBJECT | BIG_INT),
        (b'{"a": -1234567890123456789}', OBJECT | BIG_INT),
        (b'{"a": 123456789012345678}', OBJECT),
        (b'{"a": 123456789012345678.5}', OBJECT),
        (b'{"a": 1234567890123456789.5}', OBJECT | BIG_EXP),  # 19+ digits before the point or
        (b'{"a": 1' + b"0" * 310 + b".0}", OBJECT | BIG_EXP),  # exponent: may overflow a double
        (b'{"a": 1' + b"0" * 250 + b"e99}", OBJECT | BIG_EXP),
        (b'{"a": [1e400]}', OBJECT | BIG_EXP),
        (b'{"a": 1.5E-007}', OBJECT | BIG_EXP),
        (b'{"a": 1.5e-20}', OBJECT),
        (b'{"s": "\\ud800"}', OBJECT | SURROGATE),  # a lone high surrogate
        (b'{"s": "\\ud800x"}', OBJECT | SURROGATE),
        (b'{"s": "\\ud800\\n"}', OBJECT | SURROGATE),
        (b'{"s": "\\ud800\\ud800"}', OBJECT | SURROGATE),
        (b'{"s": "\\ud800\\u0041"}', OBJECT | SURROGATE),
        (b'{"s": "\\udc00"}', OBJECT | SURROGATE),  # a lone low surrogate
        (b'{"s": "\\ud83d\\ude00\\ude00"}', OBJECT | SURROGATE),  # a pair, then a lone low one
        (b'{"\\udfff": 1}', OBJECT | UNSURE | SURROGATE),  # in a key
        (b'{"s": ["\\uDBFF\\udc00"]}', OBJECT),  # a pair is valid Unicode (U+10FC00)
        (b'{"s": "\\ud83d\\ude00 \\uD800\\uDFFF"}', OBJECT),
        (b'{"s": "\\ud7ff \\ue000 \\u0000"}', OBJECT),
    ],
)
def test_flags_describe_the_value(text: bytes, flags: int) -> None:
    items, *_ = jsonscan.scan_items(b"[" + text + b"]", 1, False, True, True, MAX_DEPTH, b"source", None)
    assert items[0][4] == flags


@pytest.mark.parametrize("keys", [10, 63, 64, 65, 100, 127])
def test_repeated_keys_are_found_however_many_keys_came_before(keys: int) -> None:
    # the first keys are held in the scan itself, more on the heap: a repeat is found in both
    distinct = b"{" + b", ".join(b'"k%d": %d' % (i, i) for i in range(keys)) + b"}"
    repeated = distinct[:-1] + b', "k0": 0}'
    for text, flags in [(distinct, OBJECT), (repeated, OBJECT | UNSURE)]:
        items, *_ = jsonscan.scan_items(b"[" + text + b"]", 1, False, True, True, MAX_DEPTH, b"source", None)
        assert items[0][4] == flags, (keys, text[-20:])


@pytest.mark.parametrize("depth", [14, 15, 16, 17, 31, 32, 100, (MAX_DEPTH - 2) // 2])
def test_nesting_of_any_depth_keeps_each_levels_keys_apart(depth: int) -> None:
    # the container stack is held in the scan itself for shallow values and grows for deep ones
    deep = b'{"a": 1, "b": ' + b'{"a": 1, "x": [' * depth + b"0" + b"]}" * depth + b', "c": 2}'
    items, *_ = jsonscan.scan_items(b"[" + deep + b"]", 1, False, True, True, MAX_DEPTH, b"source", None)
    assert items[0][4] == OBJECT
    repeated = deep[:-1] + b', "a": 3}'  # a repeat at the top, after the stack grew
    items, *_ = jsonscan.scan_items(b"[" + repeated + b"]", 1, False, True, True, MAX_DEPTH, b"source", None)
    assert items[0][4] == OBJECT | UNSURE


def test_objects_with_very_many_keys_are_unsure() -> None:
    many = orjson.dumps({f"k{i}": i for i in range(200)})
    items, *_ = jsonscan.scan_items(b"[" + many + b"]", 1, False, True, True, MAX_DEPTH, b"source", None)
    assert items[0][4] == OBJECT | UNSURE


MEMBER = b'"source":"dir/f.json"'


@pytest.mark.parametrize(
    ("record", "value"),
    [
        (b'{"a":1}', b'{"source":"dir/f.json","a":1}'),
        (b"{}", b'{"source":"dir/f.json"}'),
        (b"{ \n }", b'{"source":"dir/f.json"}'),
        (b'{ "a" : [1, {}] }', b'{"source":"dir/f.json", "a" : [1, {}] }'),
        (b'{"source":1}', None),  # has the field: the caller decides (overwrite, keep, reject)
        (b'{"\\u0061":1}', None),
        (b'{"n": 1e400}', None),  # parsed instead, as the parsing path would turn it into null
        (b"[1]", None),
        (b"3", None),
    ],
)
def test_items_of_an_array_are_spliced_with_the_source_member(record: bytes, value: bytes | None) -> None:
    data = b"[" + record + b"]"
    items, pos, first, status, error = jsonscan.scan_items(
        data, 1, False, True, True, MAX_DEPTH, b"source", MEMBER
    )
    assert (pos, first, status, error) == (len(data), False, DONE, -1)
    [(key, spliced, start, end, _flags)] = items
    assert (key, spliced, data[start:end]) == (None, value, record)
    if value is not None:
        assert orjson.loads(value) == {"source": "dir/f.json", **orjson.loads(record)}


def test_items_of_an_object_carry_their_keys() -> None:
    data = b'{"730": {"n": 1}, "a\\"b": {"n": 2}, "\xc3\xa9": 3}'
    items, pos, _, status, _ = jsonscan.scan_items(data, 1, True, True, True, MAX_DEPTH, None, None)
    assert (pos, status) == (len(data), DONE)
    assert [(key, data[start:end]) for key, _, start, end, _ in items] == [
        ("730", b'{"n": 1}'),
        (b'"a\\"b"', b'{"n": 2}'),  # a key with escapes comes raw, for the caller to decode
        ("é", b"3"),
    ]


@pytest.mark.parametrize(
    ("data", "is_object", "status", "offset", "complete"),
    [
        (b"[]", False, DONE, -1, 0),
        (b"{ }", True, DONE, -1, 0),
        (b'[{"a": 1}, {"b": x}]', False, TOKEN, 17, 1),
        (b'[{"a": 1} {"b": 2}]', False, TOKEN, 10, 1),
        (b'[{"a": 1},]', False, TOKEN, 10, 1),
        (b'{"k": {}, 5: {}}', True, TOKEN, 10, 1),
        (b'{"k" {}}', True, TOKEN, 5, 0),
        (b'{"k": {}, "l": {"\xff": 1}}', True, UTF8, 17, 1),
        (b'[{"a": 1}, {"b": 2}, {"c": ', False, INCOMPLETE, -1, 2),
    ],
)
def test_items_before_an_error_come_with_it(
    data: bytes, is_object: bool, status: int, offset: int, complete: int
) -> None:
    items, _, _, got_status, got_offset = jsonscan.scan_items(
        data, 1, is_object, True, True, MAX_DEPTH, None, None
    )
    assert (got_status, got_offset, len(items)) == (status, offset, complete)


RECORDS = (
    b'{"730": {"name": "Counter-Strike \\u00e9", "price": 9.99, "tags": ["a", "b"]},\n'
    b' "570": {"name": "Dota \xe2\x9c\x93", "n": -12e-3, "ok": true, "x": null, "deep": [[{"y": []}]]},\n'
    b' "10": {}, "20": 5, "30": {"source": "mine"}}\n'
)


def scan_in_pieces(data: bytes, cuts: list[int]) -> list[tuple[object, ...]]:
    """Feed ``data`` to scan_items as a stream cut at ``cuts`` (carrying the incomplete tail over)."""
    found: list[tuple[object, ...]] = []
    buf, pos, base, first, have = b"", 1, 0, True, 0
    for end in [*cuts, len(data)]:
        buf, have = buf + data[have:end], end
        items, pos, first, status, _ = jsonscan.scan_items(
            buf, pos, True, first, end == len(data), MAX_DEPTH, b"source", MEMBER
        )
        found.extend((key, value, buf[start:stop], flags) for key, value, start, stop, flags in items)
        if status == DONE:
            return found
        assert status == INCOMPLETE
        buf, base, pos = buf[pos:], base + pos, 0
    raise AssertionError("the document never ended")


def test_cutting_the_stream_anywhere_gives_the_same_items() -> None:
    whole = scan_in_pieces(RECORDS, [])
    assert [key for key, *_ in whole] == ["730", "570", "10", "20", "30"]
    for cut in range(1, len(RECORDS)):
        assert scan_in_pieces(RECORDS, [cut]) == whole, cut
    assert scan_in_pieces(RECORDS, list(range(1, len(RECORDS), 3))) == whole


def test_bad_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError, match="outside"):
        jsonscan.scan_value(b"[]", 5, True, 0, MAX_DEPTH)
    with pytest.raises(ValueError, match="depth"):
        jsonscan.scan_items(b"[]", 1, False, True, True, -1, None, None)


@pytest.mark.parametrize(
    ("line", "value"),
    [
        (b'{"a": 1}\n', b'{"source":"dir/f.json","a": 1}'),
        (b'  {"a": 1}  \r\n', b'{"source":"dir/f.json","a": 1}'),
        (b"{}", b'{"source":"dir/f.json"}'),
        (b'{"n": 12345678901234567890}\n', b'{"source":"dir/f.json","n": 12345678901234567890}'),  # exact
        (b'{"s": "\\ud83d\\ude00"}\n', b'{"source":"dir/f.json","s": "\\ud83d\\ude00"}'),  # a pair
        (b"\n", -1),  # blank
        (b"  \r\n", -1),
        (b'{"a": 1} x\n', -1),  # not one valid value
        (b'{"a": 1}{"b": 2}\n', -1),
        (b'{"a": 1\n', -1),
        (b'{"a": "\xff"}\n', -1),
        (b"[1]\n", 0),  # valid, not an object: its flags
        (b'"s"\n', 0),
        (b"[12345678901234567890]\n", BIG_INT),
        (b'{"source": 1}\n', jsonscan.FLAG_OBJECT | jsonscan.FLAG_HAS_FIELD),
        (b'{"a": 1, "a": 2}\n', jsonscan.FLAG_OBJECT | jsonscan.FLAG_UNSURE),
        (b'{"n": 1e400}\n', jsonscan.FLAG_OBJECT | BIG_EXP),
        (b'{"s": "\\ud800"}\n', jsonscan.FLAG_OBJECT | SURROGATE),
    ],
)
def test_a_json_line_is_spliced_only_when_parsing_it_would_give_the_same(
    line: bytes, value: bytes | int
) -> None:
    assert jsonscan.scan_line(MAX_DEPTH, b"source", MEMBER, line) == value
    if isinstance(value, bytes):  # without a member (an id field): the flags
        assert jsonscan.scan_line(MAX_DEPTH, None, None, line) & ~EMPTY == jsonscan.FLAG_OBJECT | (
            BIG_INT if b"1234" in line else 0
        )


@pytest.mark.parametrize(
    ("special", "status"),
    [
        (b'\\"', OK),
        (b"\\\\", OK),
        (b"\\u00e9", OK),
        ("é".encode(), OK),
        ("😀".encode(), OK),
        (b"\x7f", OK),  # DEL is allowed inside strings
        (b"\x1f", CONTROL),
        (b"\t", CONTROL),
        (b"\xff", UTF8),
        (b"\xc3(", UTF8),
        (b"\\z", ESCAPE),
    ],
)
def test_a_special_byte_is_found_at_every_offset_of_a_long_string(special: bytes, status: int) -> None:
    # the string loop takes 16 and 8 bytes at a time: put the byte before, on and after each boundary
    for before in range(40):
        text = b'"' + b"a" * before + special + b"b" * 37 + b'"'
        got = jsonscan.scan_value(text, 0, True, 0, MAX_DEPTH)[:2]
        assert got == ((OK, len(text)) if status == OK else (status, 1 + before)), before


def test_the_rare_flags_of_the_rule_are_the_scanners() -> None:
    assert parse.RARE_FLAGS == BIG_INT | BIG_EXP | SURROGATE


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (b"", False),
        (b"123456789012345678", False),  # 18 digits fit in 64 bits
        (b"1234567890123456789", True),
        (b'{"a": "x1234567890123456789y"}', True),  # inside a string too: only sends it the slow way
        (b"123456789.123456789", False),
        (b"-12345678901234567890", True),
    ],
)
def test_long_numbers_are_found_with_and_without_the_extension(text: bytes, found: bool) -> None:
    assert jsonscan.has_long_number(text) is found
    assert (parse._LONG_RUN in text.translate(parse._DIGITS_ONLY)) is found
