"""What the full heartbeat view leaves for the shortcut: a memo of what the
agent was told, kept only where the shortcut reads it (PostgreSQL). This
file runs on both databases."""

import pytest
from django.core.cache import cache
from django.db import connection

from agents.heartbeats import heartbeat_memo_key

pytestmark = pytest.mark.django_db


def test_the_full_view_leaves_a_memo_only_where_the_shortcut_reads_it(
    owner, registered
):
    key = heartbeat_memo_key(registered.pk)
    cache.delete(key)

    response = owner.post(
        f"/api/agents/{registered.pk}/heartbeat", {"status": "online"}
    )

    assert response.status_code == 200
    memo = cache.get(key)
    if connection.vendor == "postgresql":
        _config, notice_status = memo
        assert notice_status == "none"
    else:
        assert memo is None
