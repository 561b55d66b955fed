"""The dead-letter download while Kafka does not answer (issue 16, item 9): a 503 with the reason, not a
500 or a body cut midway."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import serve_page


@pytest.mark.timeout(120)
def test_the_dead_letter_download_says_kafka_did_not_answer(tmp_path: Path) -> None:
    (tmp_path / "inbox" / "games").mkdir(parents=True)
    with serve_page(tmp_path) as url:  # Kafka and OpenSearch: a port that refuses every connection
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "api/reports/dead-letters?source=games/a.json", timeout=60)
        assert refused.value.code == 503
        assert "Kafka did not answer" in json.loads(refused.value.read())["problem"]
