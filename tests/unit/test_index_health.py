"""The harness's session-end check picks this session's indices by their names' tokens."""

from __future__ import annotations

from tests.index_health import indices_of_session, not_green


def test_only_indices_holding_a_session_token_are_checked() -> None:
    health = {
        "orders-test-a-1a2b3c4d": "green",
        "cars-test-b-5e6f7a8b-index": "yellow",
        "someone-elses-99999999": "yellow",
        ".opendistro_security": "green",
    }
    mine = indices_of_session(health, {"1a2b3c4d", "5e6f7a8b"})
    assert mine == {"orders-test-a-1a2b3c4d": "green", "cars-test-b-5e6f7a8b-index": "yellow"}
    assert not_green(mine) == ["cars-test-b-5e6f7a8b-index (yellow)"]


def test_all_green_is_nothing_to_report() -> None:
    assert not_green({"a-1a2b3c4d": "green"}) == []
    assert not_green({}) == []
