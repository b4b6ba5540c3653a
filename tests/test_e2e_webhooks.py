"""Webhooks end to end: real API and worker processes, a filter job, a local receiver."""

import asyncio
import time

import numpy as np
import pytest
from standardwebhooks import Webhook

from tests.fixtures.client import Client, png_bytes
from tests.fixtures.webhook_receiver import Receiver

pytestmark = pytest.mark.slow

RECEIVER_DELAY_S = 3.0


async def eventually(check, timeout_s: float):
    for _ in range(int(timeout_s / 0.1)):
        value = check()
        value = await value if asyncio.iscoroutine(value) else value
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_a_filter_job_calls_its_webhook_with_signed_started_and_completed_events(
    system_factory,
):
    system = system_factory(WEBHOOKS_ALLOW_LOOPBACK="true")
    client = await Client(system.base_url).as_guest()
    with Receiver() as receiver:
        # Every answer takes a while: the job must not wait for it.
        url = receiver.answer("/saekdam", (204, RECEIVER_DELAY_S))
        registered = await client.request(
            "POST", "/v1/webhooks", json={"url": url, "events": ["task.started", "task.completed"]}
        )
        assert registered.status_code == 201, registered.text
        hook = registered.json()

        task_id = await client.create_task()
        image = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
        await client.upload(task_id, png_bytes(image), "image/png")
        assert (await client.submit(task_id, "filter", {"filter": "emboss"})).status_code == 202
        frames = await client.events(task_id)
        completed_seen = time.monotonic()
        assert frames[-1]["status"] == "COMPLETED"

        await eventually(lambda: len(receiver.calls_to("/saekdam")) >= 2, 30)
        calls = receiver.calls_to("/saekdam")
        assert len(calls) == 2, calls
        # The job finished while the receiver was still holding the first call.
        assert completed_seen < calls[0].at + RECEIVER_DELAY_S

        bodies = [Webhook(hook["secret"]).verify(c.body, c.headers) for c in calls]
        by_type = {b["type"]: b for b in bodies}
        assert set(by_type) == {"task.started", "task.completed"}
        assert all(b["data"]["task_id"] == task_id for b in bodies)
        done = by_type["task.completed"]["data"]
        assert done["status"] == "COMPLETED" and done["kind"] == "filter"
        result = await client.download(done["results"][0]["url"])
        assert result.status_code == 200

        deliveries = f"/v1/webhooks/{hook['webhook_id']}/deliveries"

        async def all_delivered():
            items = (await client.request("GET", deliveries)).json()["items"]
            return (
                items
                if len(items) == 2 and all(d["status"] == "delivered" for d in items)
                else None
            )

        log = {"items": await eventually(all_delivered, 15)}
        assert [d["status"] for d in log["items"]] == ["delivered", "delivered"]
        assert {d["delivery_id"] for d in log["items"]} == {c.headers["webhook-id"] for c in calls}
        assert all(d["attempts"] == 1 and d["last_status_code"] == 204 for d in log["items"])
