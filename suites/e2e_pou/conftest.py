"""Shared test data of the e2e_pou suite: seeded agent pools and fresh settled receipts.

Every check's call runs inside ``signoff.pou.fixtures.around_check``: one at a time on a live
broker, its expectations kept when it stops early, and what it created listed (PU-SEED).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import pytest

from signoff.pou import workers
from signoff.pou.fixtures import Broker, around_check


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """PU-LOG reads what the other checks made the broker print: it runs last."""
    items.sort(key=lambda item: item.get_closest_marker("broker_logs") is not None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with around_check(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """With a broker per xdist worker: this check is over, whatever its outcome (PU-LOG waits for them all)."""
    try:
        return (yield)
    finally:
        workers.mark_done(item.config, item.nodeid)


@dataclass
class Settled:
    """A receipt the suite created: its parties, committee and the broker's answer."""

    task_id: str
    negotiation_id: str
    client: str
    agent: str
    outsider: str
    trust: dict[str, float]
    receipt: dict[str, Any]

    @property
    def committee(self) -> list[str]:
        return list(self.receipt.get("committee") or [])


@pytest.fixture
def settle_new(pou_broker: Broker) -> Callable[..., Settled]:
    """Seed a fresh agent pool (client and agent on top of the trust ranking) and settle once."""

    def settle(
        eligible: int | None = None, *, body: dict[str, Any] | None = None, with_parties_in_pool: bool = True
    ) -> Settled:
        settings = pou_broker.settings
        count = settings.m + 2 if eligible is None else eligible
        parties = pou_broker.parties(count)
        trust = {did: round(0.9 - 0.05 * i, 4) for i, did in enumerate(parties.members)}
        if with_parties_in_pool:  # the top of the ranking, so an exclusion bug shows
            trust = {parties.client: 0.99, parties.agent: 0.98, **trust}
        seeder = pou_broker.seeder()
        seeder.agent_pool(trust)
        negotiation = seeder.negotiation(parties.client, parties.agent)
        answer = pou_broker.client.settle(negotiation, body or {})
        task_id, receipt = pou_broker.client.status_after_settle(answer)
        if answer.status not in pou_broker.codes("settle") or task_id is None or receipt is None:
            rule = pou_broker.settings.dialect.rule("settle")
            pytest.fail(
                f"settle of negotiation {negotiation} answered {answer.short()}, expected {rule} with a task_id "
                "(and the receipt, in the answer or from GET /api/receipts/<task_id>)",
                pytrace=False,
            )
        return Settled(task_id, negotiation, parties.client, parties.agent, parties.outsiders[0], trust, receipt)

    return settle
