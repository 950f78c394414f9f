"""The page at /: a first visitor finds every part of Notify from it, and learns nothing about
any tenant."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.staticfiles import finders
from django.test import Client

from notify.services.access.apikeys import api_key_create
from tests.admin.helpers import make_notification, make_recipient


def _links(html: str) -> dict[str, str]:
    return dict((text, href) for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', html))


def test_the_landing_page_links_every_part_of_notify(db: Any, settings: Any) -> None:
    settings.NOTIFY_SANDBOX_URL = "http://127.0.0.1:8025/"
    settings.NOTIFY_FLOWER_URL = "http://127.0.0.1:5555/"

    response = Client().get("/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    links = _links(response.content.decode())
    assert links["API"] == "/api/v1/"
    assert links["API docs"] == "/api/docs/"
    assert links["Admin"] == "/admin/"
    assert links["Dashboard"] == "/admin/dashboard/"
    assert links["Provider sandbox"] == "http://127.0.0.1:8025/"
    assert links["Flower"] == "http://127.0.0.1:5555/"
    # Each of our own links leads somewhere (the staff pages to their login).
    client = Client()
    for name in ("API", "API docs", "Admin", "Dashboard"):
        assert client.get(links[name]).status_code in (200, 302), name


def test_tools_a_deployment_does_not_configure_are_not_linked(db: Any, settings: Any) -> None:
    settings.NOTIFY_SANDBOX_URL = ""
    settings.NOTIFY_FLOWER_URL = ""

    links = _links(Client().get("/").content.decode())

    assert "Provider sandbox" not in links and "Flower" not in links
    assert "Inbox demo" not in links  # no such route in this version


def test_its_stylesheet_is_a_local_file_no_external_asset(db: Any) -> None:
    html = Client().get("/").content.decode()

    assert '<link rel="stylesheet" href="/static/notify/landing.css">' in html
    assert finders.find("notify/landing.css") is not None
    assert not re.search(r'(src|href)="(https?:)?//', html.replace("http://127.0.0.1", ""))


def test_the_landing_page_shows_no_tenant_data(db: Any) -> None:
    api_key_create(name="acme-payroll-key")
    make_notification(make_recipient("ceo-42", email="ceo@acme.example"), ("email", "sent"))

    html = Client().get("/").content.decode()

    for private in ("acme-payroll-key", "ceo-42", "ceo@acme.example", "ntf_"):
        assert private not in html


def test_only_get_and_head_are_answered(db: Any) -> None:
    assert Client().head("/").status_code == 200
    assert Client().post("/").status_code == 405
    # The root is one exact path, not a catch-all.
    assert Client().get("/no-such-page/").status_code == 404
