"""``spoolbridge check`` lists, one line each, exactly the permissions the configured OpenSearch user lacks
on a dataset's index — against the secured node, with a user of this test's own whose role leaves some out.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from schemas.settings import load_settings
from spoolbridge.check import CheckStep, _opensearch_steps
from tests.conftest import Endpoints
from tests.opensearch_users import scoped_user

pytestmark = pytest.mark.integration

FIX = "grant it to the user's role for this index (Aiven: the service user's access to the index)"


def _steps(endpoints: Endpoints, url: str, index: str) -> list[CheckStep]:
    opensearch = {**endpoints.opensearch_settings(), "url": url}
    return _opensearch_steps(load_settings({"kafka": {"topic": index}, "opensearch": opensearch}))


@pytest.mark.timeout(60)
def test_check_names_each_permission_the_user_lacks_on_the_index_and_passes_once_granted(
    endpoints: Endpoints, unique_name: Callable[[str], str]
) -> None:
    index = unique_name("perm")
    may_write = [
        "indices:admin/get",
        "indices:admin/create",
        "indices:data/write/bulk*",
        "indices:data/write/index",
    ]
    with scoped_user(endpoints, unique_name("u"), [index], may_write) as user:
        steps = _steps(endpoints, user.url, index)
        assert [(s.name, s.ok) for s in steps[:4]] == [
            ("OpenSearch reachable", True),
            ("OpenSearch credentials", True),
            (f"OpenSearch index {index}", True),
            ("OpenSearch permission indices:admin/mapping/put", False),
        ], steps
        lacking = [s for s in steps if not s.ok]
        assert [s.detail for s in lacking] == [
            f"the user lacks indices:admin/mapping/put on index {index}, needed to index documents "
            "(the consumer's bulk requests)",  # a new field's dynamic mapping
            f"the user lacks indices:data/write/delete on index {index}, needed to delete documents "
            "(records a new version of a file no longer has)",
            f"the user lacks indices:data/read/search on index {index}, needed to count documents "
            "(status, the upload page's progress)",
            f"the user lacks indices:admin/mappings/get on index {index}, needed to read the index mapping "
            "(the upload page's fields)",
        ], lacking
        assert {s.fix for s in lacking} == {FIX}
        assert all(user.password not in s.detail + s.fix for s in steps)

        user.grant(["indices_all"])
        granted = _steps(endpoints, user.url, index)
        assert all(s.ok for s in granted), granted
        assert granted[-1].name == f"OpenSearch write {index}"
