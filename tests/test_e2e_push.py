"""Web Push end to end: real API and worker processes, a local push service that decrypts.

A guest subscribes two browsers (one the push service calls gone), runs a filter task, and
the live browser receives exactly one notification, COMPLETED; the gone one is removed.
"""

import asyncio

import pytest
from skimage import data as skdata

from saekdam_backbone.notifications import vapid
from tests.fixtures.client import Client, jpeg_bytes

pytestmark = pytest.mark.slow


async def test_a_finished_task_reaches_the_browser_once(system_factory, push_service):
    key = vapid.generate_private_key()
    system = system_factory(VAPID_PRIVATE_KEY=key, PUSH_ALLOW_HTTP="true")
    client = await Client(system.base_url).as_guest()

    served = await client.request("GET", "/v1/push/key")
    assert served.status_code == 200 and served.json()["public_key"] == vapid.public_key(key)
    browser, gone = push_service.subscribe(), push_service.subscribe(answers=[410])
    for subscription in (browser, gone):
        response = await client.request(
            "POST", "/v1/push/subscriptions", json=subscription.as_json()
        )
        assert response.status_code == 201, response.text
        subscription.id = response.json()["subscription_id"]

    task_id = await client.create_task()
    await client.upload(task_id, jpeg_bytes(skdata.coffee()), "image/jpeg")
    assert (await client.submit(task_id, "filter", {"filter": "emboss"})).status_code == 202
    frames = await client.events(task_id)
    assert frames[-1]["status"] == "COMPLETED"

    await asyncio.to_thread(push_service.wait_for, browser, 1)
    await asyncio.sleep(1.0)  # a second notification would have come by now
    (received,) = browser.received
    assert received.payload["type"] == "task.completed"
    assert received.payload["status"] == "COMPLETED"
    assert received.payload["task_id"] == task_id and received.payload["kind"] == "filter"
    assert received.vapid_public_key == served.json()["public_key"]
    assert gone.refused == [410]
    deleted = await client.request("DELETE", f"/v1/push/subscriptions/{gone.id}")
    assert deleted.status_code == 404, "the gone subscription should have been removed"
    kept = await client.request("DELETE", f"/v1/push/subscriptions/{browser.id}")
    assert kept.status_code == 204
