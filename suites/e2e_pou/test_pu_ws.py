"""PU-WS: on settlement both parties, client and agent, receive the notification over WebSocket."""

import pytest

from signoff.pou.dialect import dig
from signoff.pou.expect import Expect

CHECK_ID = "PU-WS"
pytestmark = [pytest.mark.e2e_pou, pytest.mark.websocket]


def test_pu_ws_both_parties_notified(pou_broker, evidence) -> None:
    from signoff.pou.client import BrokerUnreachable, Listener

    expect = Expect(evidence, CHECK_ID)
    parties = pou_broker.parties(pou_broker.settings.m)
    client_did, agent_did = parties.client, parties.agent
    seeder = pou_broker.seeder()
    seeder.agent_pool({did: 0.5 + 0.01 * i for i, did in enumerate(parties.members)})
    negotiation = seeder.negotiation(client_did, agent_did)
    try:
        listeners = {"client": Listener(pou_broker.client, client_did), "agent": Listener(pou_broker.client, agent_did)}
    except BrokerUnreachable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        answer = pou_broker.client.settle(negotiation)
        expect.answer("settle", f"POST /api/negotiations/{negotiation}/settle", answer, pou_broker.codes("settle"))
        task_id, _ = pou_broker.client.status_after_settle(answer)
        where = pou_broker.settings.dialect.notification_task_id
        wait = pou_broker.settings.notify_timeout_seconds
        for party, listener in listeners.items():
            message, seen = listener.wait_for(lambda m: task_id is not None and dig(m, where) == task_id, timeout=wait)
            expect.that(
                f"{party} notified",
                message is not None,
                f"a message whose {where} is task {task_id} within {wait:g} s ([pou] notify_timeout_seconds)",
                f"{str(message)[:160]}" if message else f"nothing ({len(seen)} other message(s))",
                f"WebSocket {pou_broker.settings.dialect.websocket_url}",
            )
    finally:
        for listener in listeners.values():
            listener.close()
    expect.check()
