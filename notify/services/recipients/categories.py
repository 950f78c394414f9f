"""Message categories (security, billing, marketing…): finding a tenant's, saving one, and
whether a message is critical. Read by the accept path, digests, preferences and unsubscribe
links, so it sits below all of them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from notify.models.notifications import Priority
from notify.models.preferences import Category
from notify.services.rows import rows_select

# Notifications without a category are "general": one can opt out of those too.
GENERAL = "general"


def category_find(*, tenant: str, key: str) -> Category | None:
    return categories_find(tenant=tenant, keys=[key])[key]


def categories_find(*, tenant: str, keys: Iterable[str]) -> dict[str, Category | None]:
    """{key: the tenant's category, or None where it has none}."""
    wanted = list(set(keys))
    found = rows_select(
        Category,
        "SELECT {columns} FROM notify_category c WHERE c.tenant = %s AND c.key = ANY(%s)",
        [tenant, wanted],
        alias="c",
    )
    by_key = {c.key: c for c in found}
    return {k: by_key.get(k) for k in wanted}


def category_save(*, tenant: str, key: str, **fields: Any) -> Category:
    category, _ = Category.objects.update_or_create(tenant=tenant, key=key, defaults=fields)
    return category


def is_critical(*, category: Category | None, priority: int) -> bool:
    """`category` as found by `category_find` (None: not defined, so not critical)."""
    return priority == Priority.CRITICAL or (category is not None and category.critical)
