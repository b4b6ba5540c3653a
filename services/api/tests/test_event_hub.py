import asyncio

from redis.asyncio import Redis

from saekdam_api.events.hub import EventHub
from saekdam_contracts.events import TaskEvent
from saekdam_contracts.status import TaskStatus


def event(task_id: str, seq: int) -> TaskEvent:
    return TaskEvent(type="progress", task_id=task_id, seq=seq, status=TaskStatus.INPROGRESS)


async def test_published_events_reach_only_that_tasks_watchers(redis_url):
    redis = Redis.from_url(redis_url)
    channel = "test-hub-routing"
    hub = EventHub(redis, channel)
    await hub.start()
    try:
        with hub.watch("a", 8) as watcher_a, hub.watch("b", 8) as watcher_b:
            await redis.publish(channel, event("a", 1).model_dump_json())
            received = await asyncio.wait_for(watcher_a.queue.get(), 5)
            assert received.seq == 1 and watcher_b.queue.empty()
        assert hub.watcher_count == 0
    finally:
        await hub.stop()
        await redis.aclose()


async def test_a_watcher_that_stops_reading_overflows_alone(redis_url):
    hub = EventHub(Redis.from_url(redis_url), "unused")
    with hub.watch("t", 2) as slow, hub.watch("t", 100) as fast:
        for seq in range(1, 6):
            hub.dispatch(event("t", seq))
        assert slow.overflowed.is_set() and slow.queue.qsize() == 2
        assert not fast.overflowed.is_set() and fast.queue.qsize() == 5


async def test_malformed_messages_are_dropped_without_stopping_the_hub(redis_url):
    redis = Redis.from_url(redis_url)
    channel = "test-hub-malformed"
    hub = EventHub(redis, channel)
    await hub.start()
    try:
        with hub.watch("t", 8) as watcher:
            await redis.publish(channel, b"not json")
            await redis.publish(channel, event("t", 2).model_dump_json())
            assert (await asyncio.wait_for(watcher.queue.get(), 5)).seq == 2
    finally:
        await hub.stop()
        await redis.aclose()
