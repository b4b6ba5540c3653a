"""The Redis stream queue on a real Redis."""

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from saekdam_backbone.queue import JobQueue
from saekdam_contracts.queue import JobMessage


@pytest.fixture
async def redis(redis_url):
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def kind() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"  # a stream of the test's own


async def test_a_dead_workers_message_is_reclaimed_behind_many_live_ones(redis, kind):
    queue = JobQueue(redis)
    await queue.ensure_groups([kind])
    for i in range(13):
        await queue.enqueue(JobMessage(task_id=f"task-{i}", kind=kind))
    live = await queue.read("live-worker", [kind], count=12, block_ms=100)
    dead = await queue.read("dead-worker", [kind], count=1, block_ms=100)
    await asyncio.sleep(0.2)
    for delivery in live:  # alive: they keep touching their messages
        await queue.touch("live-worker", delivery)

    reclaimed = await JobQueue(redis).reclaim("rescuer", [kind], min_idle_ms=150)
    assert [d.message.task_id for d in reclaimed] == [dead[0].message.task_id]


async def test_acked_messages_leave_the_stream(redis, kind):
    queue = JobQueue(redis)
    await queue.ensure_groups([kind])
    message_id = await queue.enqueue(JobMessage(task_id="t", kind=kind))
    (delivery,) = await queue.read("w", [kind], count=1, block_ms=100)
    assert await queue.contains(kind, message_id)
    await queue.ack(delivery)
    assert not await queue.contains(kind, message_id)
    assert await queue.depth([kind]) == {kind: {"waiting": 0, "pending": 0}}


async def test_a_malformed_message_is_delivered_as_none(redis, kind):
    queue = JobQueue(redis)
    await queue.ensure_groups([kind])
    await redis.xadd(f"saekdam:jobs:{kind}", {"garbage": "1"})
    (delivery,) = await queue.read("w", [kind], count=1, block_ms=100)
    assert delivery.message is None
