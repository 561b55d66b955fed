"""Types of the C extension ``producer._jsonscan`` (see ``producer/_jsonscan.c`` for the contract)."""

from typing_extensions import Buffer

OK: int
INCOMPLETE: int
DONE: int
ERR_TOKEN: int
ERR_UTF8: int
ERR_DEPTH: int
ERR_CONTROL: int
ERR_ESCAPE: int
ERR_NUMBER: int
FLAG_OBJECT: int
FLAG_HAS_FIELD: int
FLAG_UNSURE: int
FLAG_EMPTY: int
FLAG_BIG_INT: int
FLAG_BIG_EXP: int
FLAG_SURROGATE: int
SPLICE_REFUSED: int

def scan_value(
    buffer: Buffer, pos: int, final: bool, depth: int, max_depth: int, /
) -> tuple[int, int, int]: ...
def scan_items(
    buffer: Buffer,
    pos: int,
    is_object: bool,
    first: bool,
    final: bool,
    max_depth: int,
    field: bytes | None,
    member: bytes | None,
    /,
) -> tuple[list[tuple[str | bytes | None, bytes | None, int, int, int]], int, bool, int, int]: ...
def scan_line(max_depth: int, field: bytes | None, member: bytes | None, line: Buffer, /) -> bytes | int: ...
def has_long_number(buffer: Buffer, /) -> bool: ...
