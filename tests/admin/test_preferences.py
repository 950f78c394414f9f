"""Categories and preferences: channel lists are checked like the API checks them, saving goes
through the services, and the preferences list stays a few queries however many rows."""

from __future__ import annotations

from typing import Any

from django.test import Client

from notify.models import Category, Preference, Recipient
from notify.services.recipients.categories import category_save
from notify.services.recipients.preferences import preferences_set
from tests.admin.helpers import make_recipient, shown, shown_ids

CATEGORIES = "/admin/notify/category/"
PREFERENCES = "/admin/notify/preference/"


def _add_category(client: Client, **fields: str) -> Any:
    data = {
        "tenant": "default",
        "key": "billing",
        "name": "Billing",
        "default_channels": "email, push",
        "fallback_order": "push, sms, email",
        "_save": "Save",
        **fields,
    }
    return client.post(f"{CATEGORIES}add/", data)


def _errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 200, "expected the form back with errors"
    return dict(response.context["adminform"].form.errors)


def test_a_category_added_in_the_admin_keeps_its_channels_in_the_order_typed(
    admin_client: Client, db: Any
) -> None:
    response = _add_category(admin_client, critical="on")

    assert response.status_code == 302
    category = Category.objects.get()
    assert (category.tenant, category.key, category.name, category.critical) == (
        "default",
        "billing",
        "Billing",
        True,
    )
    assert category.default_channels == ["email", "push"]
    assert category.fallback_order == ["push", "sms", "email"]


def test_an_unknown_channel_is_refused_with_the_api_message_and_nothing_is_saved(
    admin_client: Client, db: Any
) -> None:
    response = _add_category(admin_client, default_channels="email, fax")

    errors = _errors(response)
    assert errors == {
        "default_channels": ['"fax" is not a valid choice. Known channels: email, sms, push.']
    }
    assert "&quot;fax&quot; is not a valid choice." in response.content.decode()
    assert not Category.objects.exists()


def test_a_key_that_is_not_a_slug_is_refused_like_the_api_refuses_it(
    admin_client: Client, db: Any
) -> None:
    response = _add_category(admin_client, key="Billing alerts!")

    assert list(_errors(response)) == ["key"]
    assert not Category.objects.exists()


def test_a_channel_listed_twice_is_refused(admin_client: Client, db: Any) -> None:
    response = _add_category(admin_client, fallback_order="push, sms, push")

    assert _errors(response) == {"fallback_order": ["'push' is listed more than once."]}
    assert not Category.objects.exists()


def test_adding_an_existing_key_is_refused_rather_than_overwriting_it(
    admin_client: Client, db: Any
) -> None:
    category_save(tenant="default", key="billing", name="Original", default_channels=["sms"])

    response = _add_category(admin_client)

    assert "__all__" in _errors(response)
    assert Category.objects.get().name == "Original"
    assert _add_category(admin_client, tenant="acme").status_code == 302
    assert Category.objects.count() == 2


def test_editing_a_category_changes_its_channels_but_not_its_key(
    admin_client: Client, db: Any
) -> None:
    category = category_save(tenant="default", key="billing", default_channels=["email"])
    url = f"{CATEGORIES}{category.pk}/change/"

    page = admin_client.get(url).content.decode()
    refused = admin_client.post(url, {"name": "B", "default_channels": "sms sms", "_save": "Save"})
    saved = admin_client.post(
        url,
        {"key": "renamed", "name": "Bills", "default_channels": "sms push", "_save": "Save"},
    )

    assert 'value="email"' in page
    assert _errors(refused) == {"default_channels": ["'sms' is listed more than once."]}
    assert saved.status_code == 302
    category.refresh_from_db()
    assert (category.key, category.name) == ("billing", "Bills")
    assert category.default_channels == ["sms", "push"]
    assert category.fallback_order == []


def test_the_category_list_shows_channels_and_filters_by_critical_and_tenant(
    admin_client: Client, db: Any
) -> None:
    security = category_save(
        tenant="default", key="security", critical=True, fallback_order=["push", "sms"]
    )
    marketing = category_save(tenant="default", key="marketing", default_channels=["email"])
    other = category_save(tenant="acme", key="marketing")

    response = admin_client.get(CATEGORIES)

    page = response.content.decode()
    assert shown_ids(response) == {security.pk, marketing.pk, other.pk}
    assert "push → sms" in page
    assert shown_ids(admin_client.get(CATEGORIES, {"critical__exact": "1"})) == {security.pk}
    assert shown_ids(admin_client.get(CATEGORIES, {"tenant": "acme"})) == {other.pk}
    assert shown_ids(admin_client.get(CATEGORIES, {"q": "market"})) == {marketing.pk, other.pk}


def _preferences(recipients: int) -> tuple[Category, Category]:
    marketing = category_save(tenant="default", key="marketing")
    billing = category_save(tenant="default", key="billing")
    for n in range(recipients):
        preferences_set(
            recipient=make_recipient(external_id=f"user-{n}"),
            choices={"marketing": {"email": False, "sms": True}, "billing": {"push": False}},
        )
    return marketing, billing


def test_the_preference_list_costs_a_few_queries_for_many_recipients(
    admin_client: Client, db: Any, django_assert_max_num_queries: Any
) -> None:
    _preferences(recipients=10)
    admin_client.get(PREFERENCES)  # warm the session and content-type caches

    with django_assert_max_num_queries(8):
        response = admin_client.get(PREFERENCES)

    assert len(shown(response)) == 30
    page = response.content.decode()
    assert "user-9" in page and "marketing" in page


def test_preferences_filter_by_category_channel_and_state_and_search_by_external_id(
    admin_client: Client, db: Any
) -> None:
    _, billing = _preferences(recipients=2)
    user_1 = Preference.objects.filter(recipient__external_id="user-1")
    off_email = Preference.objects.get(recipient__external_id="user-0", channel="email")

    by_category = admin_client.get(PREFERENCES, {"category__id__exact": str(billing.pk)})
    by_channel_and_state = admin_client.get(
        PREFERENCES, {"channel": "email", "enabled__exact": "0", "q": "user-0"}
    )

    assert {p.channel for p in shown(by_category)} == {"push"}
    assert shown_ids(by_channel_and_state) == {off_email.pk}
    assert shown_ids(admin_client.get(PREFERENCES, {"q": "user-1"})) == set(
        user_1.values_list("pk", flat=True)
    )


def test_an_operator_can_turn_a_preference_back_on(admin_client: Client, db: Any) -> None:
    _preferences(recipients=1)
    preference = Preference.objects.get(channel="email")
    url = f"{PREFERENCES}{preference.pk}/change/"

    page = admin_client.get(url)
    response = admin_client.post(url, {"enabled": "on", "channel": "push", "_save": "Save"})

    assert page.status_code == 200 and "user-0" in page.content.decode()
    assert response.status_code == 302
    preference.refresh_from_db()
    assert (preference.channel, preference.enabled) == ("email", True)


def test_adding_a_preference_opts_the_recipient_out_within_its_tenant_only(
    admin_client: Client, recipient: Recipient
) -> None:
    marketing = category_save(tenant="default", key="marketing")
    foreign = category_save(tenant="acme", key="marketing")
    data = {"recipient": str(recipient.pk), "channel": "sms", "_save": "Save"}

    refused = admin_client.post(f"{PREFERENCES}add/", {**data, "category": str(foreign.pk)})
    added = admin_client.post(f"{PREFERENCES}add/", {**data, "category": str(marketing.pk)})

    assert _errors(refused) == {"category": ["Not a category of tenant 'default'."]}
    assert added.status_code == 302
    preference = Preference.objects.get()
    assert (preference.category, preference.channel, preference.enabled) == (
        marketing,
        "sms",
        False,
    )


def test_the_add_pages_offer_the_known_channels(admin_client: Client, db: Any) -> None:
    category_page = admin_client.get(f"{CATEGORIES}add/").content.decode()
    preference_page = admin_client.get(f"{PREFERENCES}add/").content.decode()

    assert "Empty: every channel." in category_page
    for channel in ("email", "sms", "push"):
        assert f'<option value="{channel}">{channel}</option>' in preference_page
