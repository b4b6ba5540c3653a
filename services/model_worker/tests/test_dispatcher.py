"""The fair dispatcher on real Redis and real databases (SQLite and PostgreSQL)."""

import secrets

import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from saekdam_backbone.db import create_engine, create_sessions
from saekdam_backbone.queue import JobQueue, stream_for
from saekdam_backbone.tasks.store import TaskStore
from saekdam_worker.dispatcher import Dispatcher

KIND = "noop"


@pytest.fixture
async def parts(private_database_url, redis_url):
    engine = create_engine(private_database_url)
    async with engine.begin() as connection:  # each test starts with an empty queue
        await connection.execute(
            text("UPDATE tasks SET status = 'CANCELLED' WHERE status = 'QUEUED'")
        )
    redis = Redis.from_url(redis_url)
    store = TaskStore(create_sessions(engine))
    queue = JobQueue(redis)
    await queue.ensure_groups([KIND])
    added: list[str] = []
    original = queue.enqueue

    async def remembering_enqueue(message):
        added.append(await original(message))
        return added[-1]

    queue.enqueue = remembering_enqueue
    yield store, queue, redis
    if added:  # leave the shared stream as it was for other tests
        await redis.xdel(stream_for(KIND), *added)
    await redis.aclose()
    await engine.dispose()


async def _queued(store: TaskStore, owner: str, kind: str = KIND) -> str:
    task = await store.create(owner, max_attempts=3)
    assert await store.submit(task.id, owner, kind, {"steps": 1}, [])
    return task.id


def _dispatcher(store, queue, redis, depth=1, kind: str = KIND) -> Dispatcher:
    return Dispatcher(
        store, queue, redis, owner=f"test-{secrets.token_hex(3)}", kinds=[kind], depth=depth
    )


async def _start_next(store: TaskStore) -> str:
    """What a worker does: claim the task at the head of the stream (by our marks)."""
    dispatched = [w for w in await store.waiting(KIND) if w.dispatched]
    head = min(dispatched, key=lambda w: w.enqueued_at)
    claim = await store.claim(head.task_id, "test-worker", 30)
    assert claim is not None
    return head.task_id


async def test_a_newcomer_starts_within_two_starts_of_a_heavy_users_backlog(parts):
    store, queue, redis = parts
    heavy, newcomer = f"a-{secrets.token_hex(4)}", f"b-{secrets.token_hex(4)}"
    dispatcher = _dispatcher(store, queue, redis)
    heavy_ids = [await _queued(store, heavy) for _ in range(30)]
    await dispatcher.dispatch_once()
    started = [await _start_next(store)]  # a's first job runs
    await dispatcher.dispatch_once()  # a's second waits on the stream
    newcomer_id = await _queued(store, newcomer)
    for _ in range(3):
        await dispatcher.dispatch_once()
        started.append(await _start_next(store))
    assert newcomer_id in started[1:3], started
    assert set(started) - {newcomer_id} <= set(heavy_ids)


async def test_the_stream_holds_at_most_depth_tasks_of_a_kind(parts):
    store, queue, redis = parts
    owner = f"c-{secrets.token_hex(4)}"
    ids = [await _queued(store, owner) for _ in range(5)]
    dispatcher = _dispatcher(store, queue, redis, depth=2)
    for _ in range(3):
        await dispatcher.dispatch_once()
    dispatched = [w.task_id for w in await store.waiting(KIND) if w.dispatched]
    assert sorted(dispatched) == sorted(ids[:2])


async def test_a_held_lock_means_another_dispatcher_is_at_it(parts):
    store, queue, redis = parts
    await _queued(store, f"d-{secrets.token_hex(4)}")
    first, second = _dispatcher(store, queue, redis), _dispatcher(store, queue, redis)
    await redis.set("saekdam:dispatch:lock", "someone-else", px=2000)
    try:
        assert await second.dispatch_once() == 0
    finally:
        await redis.delete("saekdam:dispatch:lock")
    assert await first.dispatch_once() >= 1


async def test_tasks_whose_messages_redis_lost_are_put_on_again(parts):
    store, queue, redis = parts
    kind = f"lost-{secrets.token_hex(3)}"  # a stream of its own, deleted below
    task_id = await _queued(store, f"e-{secrets.token_hex(4)}", kind)
    dispatcher = _dispatcher(store, queue, redis, kind=kind)
    try:
        await dispatcher.dispatch_once()
        (before,) = [w for w in await store.waiting(kind) if w.dispatched]
        # A Redis restart without persistence: the stream and its messages are gone.
        await redis.delete(stream_for(kind))
        assert await dispatcher.dispatch_once() == 1
        (after,) = [w for w in await store.waiting(kind) if w.dispatched]
        assert after.task_id == before.task_id == task_id
        assert after.enqueued_at >= before.enqueued_at and await queue.length(kind) == 1
    finally:
        await redis.delete(stream_for(kind))
