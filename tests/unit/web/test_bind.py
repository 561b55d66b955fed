"""The binding rule: loopback freely, any other address only with web.auth_token; refusals name it."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from schemas.errors import ConfigError
from schemas.settings import WebSettings
from spoolbridge.web.server import check_bind


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "localhost"])
def test_loopback_needs_no_token(host: str) -> None:
    check_bind(WebSettings(host=host))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.org"])
def test_other_addresses_need_the_token(host: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_bind(WebSettings(host=host))
    assert caught.value.setting == "web.auth_token"
    assert f"web.host {host} lets other machines reach the upload page" in str(caught.value)
    assert "\n" not in str(caught.value)
    check_bind(WebSettings(host=host, auth_token=SecretStr("t")))
