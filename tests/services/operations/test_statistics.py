"""Planner statistics kept current by the tick: a table whose rows changed past
autovacuum's rule (50 + 10 % since its last ANALYZE) is analyzed, once; nothing is when the
setting is off. Against this test database's own tables, with committed rows (the
statistics collector sees nothing uncommitted)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from notify.models import Topic
from notify.services.operations.statistics import tables_analyze_stale

pytestmark = pytest.mark.django_db(transaction=True)


def _topic_stats() -> tuple[int, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")  # this backend's counts, now
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT n_mod_since_analyze, last_analyze FROM pg_stat_user_tables "
            "WHERE relname = 'notify_topic'"
        )
        row = cursor.fetchone()
    return row[0], row[1]


def _topics(count: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE notify_topic")  # start from current statistics
    Topic.objects.bulk_create(Topic(tenant="stats", key=f"t{i}") for i in range(count))
    _topic_stats()


def test_a_table_changed_past_the_rule_is_analyzed_once() -> None:
    _topics(120)
    changed, before = _topic_stats()
    assert changed >= 120

    analyzed = tables_analyze_stale()

    changed, after = _topic_stats()
    assert "notify_topic" in analyzed
    assert changed == 0 and after is not None and (before is None or after > before)
    assert "notify_topic" not in tables_analyze_stale()


def test_a_few_changes_leave_the_statistics_alone() -> None:
    _topics(20)  # under the 50 rows the rule allows any table

    assert "notify_topic" not in tables_analyze_stale()
    assert _topic_stats()[0] >= 20


def test_nothing_is_analyzed_when_turned_off(settings: Any) -> None:
    settings.NOTIFY_ANALYZE_STALE_TABLES = False
    _topics(120)

    assert tables_analyze_stale() == []
    assert _topic_stats()[0] >= 120
