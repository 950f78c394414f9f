"""The recipients list's "Import recipients" page: upload a file, read the report."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from notify.models import Recipient
from tests.admin.helpers import make_recipient

URL = "/admin/notify/recipient/import/"


def _upload(client: Client, content: bytes, name: str = "people.csv", **fields: Any) -> Any:
    return client.post(URL, {"file": SimpleUploadedFile(name, content), **fields})


def _staff(*permissions: str) -> Client:
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    client = Client()
    client.force_login(user)
    return client


def test_the_list_links_to_the_import_page(admin_client: Client, db: Any) -> None:
    listing = admin_client.get("/admin/notify/recipient/").content.decode()

    assert f'href="{URL}"' in listing
    assert admin_client.get(URL).status_code == 200


def test_an_upload_stores_the_valid_rows_and_shows_the_report(
    admin_client: Client, db: Any
) -> None:
    make_recipient("known", email="old@example.com")

    response = _upload(
        admin_client,
        b"\xef\xbb\xbfid,email,phone\nknown,,+447911123456\nnew,new@example.com,\nbad,nope,\n",
        tenant="default",
    )

    page = response.content.decode()
    assert response.status_code == 200
    report = response.context["report"]
    assert (report.total, report.created, report.updated, report.failed) == (3, 1, 1, 1)
    assert "<td>3</td>" in page and "Imported" in page
    assert "<td>bad</td>" in page and "email: Enter a valid email address." in page
    assert set(Recipient.objects.values_list("external_id", "email", "phone")) == {
        ("known", "old@example.com", "+447911123456"),
        ("new", "new@example.com", ""),
    }


def test_a_dry_run_upload_into_another_tenant_stores_nothing(admin_client: Client, db: Any) -> None:
    response = _upload(
        admin_client,
        b'{"recipients": [{"id": "j-1", "email": "j@example.com"}]}',
        name="people.json",
        tenant="acme",
        dry_run="on",
    )

    assert response.context["report"].created == 1
    assert "Dry run: nothing was stored" in response.content.decode()
    assert Recipient.objects.count() == 0
    _upload(admin_client, b'[{"id": "j-1"}]', name="people.json", tenant="acme")
    assert list(Recipient.objects.values_list("tenant", "external_id")) == [("acme", "j-1")]


def test_an_unreadable_file_is_a_form_error(admin_client: Client, db: Any) -> None:
    response = _upload(admin_client, b"email\na@example.com\n", tenant="default")

    assert response.status_code == 200
    assert response.context["report"] is None
    assert response.context["form"].errors == {"file": ["The header must have an `id` column."]}
    assert Recipient.objects.count() == 0


def test_staff_without_add_and_change_permissions_cannot_import(db: Any) -> None:
    viewer = _staff("view_recipient", "change_recipient")

    assert 'href="/admin/notify/recipient/import/"' not in (
        viewer.get("/admin/notify/recipient/").content.decode()
    )
    assert viewer.get(URL).status_code == 403
    assert _upload(viewer, b"id\nx\n", tenant="default").status_code == 403
    assert Recipient.objects.count() == 0


def test_staff_with_add_and_change_permissions_can_import(db: Any) -> None:
    importer = _staff("view_recipient", "add_recipient", "change_recipient")

    response = _upload(importer, b"id\nx\n", tenant="default")

    assert response.status_code == 200
    assert Recipient.objects.filter(external_id="x").exists()
