"""`manage.py create_api_key`: scopes (platform only when named) and the key's own rate
limit, each checked before anything is stored."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from notify.models import ApiKey
from notify.services.access.apikeys import api_key_authenticate


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_key_gets_its_own_rate_and_the_raw_key_last(db: Any) -> None:
    out, _ = _run("producer", "--tenant", "acme", "--rate", "500/second")

    raw = out.strip().splitlines()[-1]
    key = api_key_authenticate(raw=raw)
    assert key is not None
    assert (key.tenant, key.rate_limit) == ("acme", "500/s")
    assert "rate 500/s" in out


def test_by_default_a_key_has_the_default_rate_and_no_platform_scope(db: Any) -> None:
    out, _ = _run("ordinary")

    key = ApiKey.objects.get()
    assert (key.rate_limit, key.scopes) == ("", ["send", "read", "manage"])
    assert "rate the default" in out


def test_the_platform_scope_is_given_only_when_named(db: Any) -> None:
    _run("operator", "--scopes", "manage,platform")

    assert ApiKey.objects.get().scopes == ["manage", "platform"]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--rate", "lots"], "--rate: 'lots' is not a rate"), (["--scopes", "root"], "root")],
)
def test_bad_options_exit_2_and_store_nothing(db: Any, args: list[str], message: str) -> None:
    err = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("create_api_key", "bad", *args, stdout=StringIO(), stderr=err)

    assert exited.value.code == 2
    assert message in err.getvalue()
    assert not ApiKey.objects.exists()
