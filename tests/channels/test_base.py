"""Provider sessions read the proxy environment once, and still honour it."""

from __future__ import annotations

import pytest
import requests

from channels.base import settle_environment


def test_a_proxy_from_the_environment_is_kept_when_requests_stop_reading_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = requests.Session()
    settle_environment(session, "https://api.twilio.com")
    assert session.trust_env is False
    assert session.proxies["https"] == "http://proxy.example:3128"


def test_no_proxy_still_applies_to_a_local_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    session = requests.Session()
    assert settle_environment(session, "http://127.0.0.1:8025") == {}
    assert "http" not in session.proxies
