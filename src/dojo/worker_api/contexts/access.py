"""The rule "may this labeller see this task": only tasks of miners the labeller is linked to
through a subscription key that is not deleted. Every labeller query (list, fetch, submission)
filters by :func:`linked_miner_ids`; ``tests/worker_api/test_access_rule.py`` checks each of them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from dojo.worker_api.store.models import Partnership, SubscriptionKey


def linked_miner_ids(labeller_id: Any) -> Select[Any]:
    """Subquery: ids of the miners the labeller is linked to by a live subscription key.

    ``labeller_id`` is an id or a bound parameter (statements built once and reused)."""
    return (
        select(SubscriptionKey.miner_id)
        .join(Partnership, Partnership.subscription_key_id == SubscriptionKey.id)
        .where(Partnership.labeller_id == labeller_id, SubscriptionKey.deleted_at.is_(None))
    )
