"""Web Push in process: real Redis, real databases, a local push service that decrypts.

Task changes go through the real `EventPublisher` (the task-news stream); the notifier reads
the stream in a consumer group of the test's own and sends through `pywebpush`.
"""

import asyncio
import contextlib
import secrets
import uuid

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from saekdam_backbone.db import create_engine, create_sessions
from saekdam_backbone.events import EventPublisher
from saekdam_backbone.notifications import vapid
from saekdam_backbone.notifications.models import PushSubscription
from saekdam_backbone.tasks.store import TaskStore
from saekdam_backbone.users import User
from saekdam_contracts.events import ResultItem
from saekdam_contracts.redis_keys import TASK_NEWS_STREAM
from saekdam_worker.notify.push import PushNotifier, start_push
from saekdam_worker.notify.push_sender import PushSender
from saekdam_worker.notify.push_settings import PushSettings
from tests.fixtures.push import PushService, Subscription

SETTINGS = PushSettings(allow_http=True, timeout_s=5, attempts=3, retry_base_s=0.05)
START = {"vapid_subject": "mailto:ops@saekdam.invalid", "consumer": "worker-loop"}


class Env:
    def __init__(self, sessions, redis_url: str, push: PushService):
        self.sessions, self.redis_url, self.push = sessions, redis_url, push
        self.redis = Redis.from_url(redis_url)
        self.tasks = TaskStore(sessions)
        self.publisher = EventPublisher(self.redis)
        self.vapid_key = vapid.generate_private_key()
        self.group = f"push-test-{secrets.token_hex(4)}"

    def notifier(self, consumer: str = "worker-a", redis: Redis | None = None) -> PushNotifier:
        sender = PushSender(
            self.vapid_key, "mailto:ops@saekdam.invalid", timeout_s=5, ttl_s=SETTINGS.ttl_s
        )
        return PushNotifier(
            redis or self.redis,
            self.sessions,
            sender,
            SETTINGS,
            consumer=consumer,
            group=self.group,
        )

    async def user(self) -> str:
        user_id = str(uuid.uuid4())
        async with self.sessions() as session, session.begin():
            session.add(User(id=user_id, username=f"u{secrets.token_hex(4)}", is_guest=True))
        return user_id

    async def subscribe(self, owner_id: str, answers: list[int] | None = None) -> Subscription:
        browser = self.push.subscribe(answers)
        browser.id = str(uuid.uuid4())
        async with self.sessions() as session, session.begin():
            session.add(
                PushSubscription(
                    id=browser.id, owner_id=owner_id, endpoint=browser.endpoint, **browser.keys
                )
            )
        return browser

    async def started_task(self, owner_id: str) -> tuple[str, int]:
        task = await self.tasks.create(owner_id, max_attempts=3)
        await self.publisher.publish(
            await self.tasks.submit(task.id, owner_id, "filter", {"filter": "emboss"}, [])
        )
        claim = await self.tasks.claim(task.id, "worker-test", 30)
        await self.publisher.publish(claim.event)
        return task.id, claim.task.attempt

    async def completed_task(self, owner_id: str) -> str:
        task_id, attempt = await self.started_task(owner_id)
        result = ResultItem(
            key=f"results/{task_id}/1/out.png", content_type="image/png", width=4, height=3
        )
        await self.publisher.publish(await self.tasks.complete(task_id, attempt, [result]))
        return task_id

    async def subscription_exists(self, subscription_id: str) -> bool:
        async with self.sessions() as session:
            return await session.get(PushSubscription, subscription_id) is not None


@pytest.fixture
async def env(private_database_url, redis_url, push_service):
    engine = create_engine(private_database_url)
    env = Env(create_sessions(engine), redis_url, push_service)
    await env.notifier().ensure_group()
    yield env
    await env.redis.xgroup_destroy(TASK_NEWS_STREAM, env.group)
    await env.redis.aclose()
    await engine.dispose()


async def test_a_completed_task_notifies_each_subscription_once(env):
    owner = await env.user()
    phone, laptop = await env.subscribe(owner), await env.subscribe(owner)
    task_id = await env.completed_task(owner)

    assert await env.notifier().poll() == 2  # QUEUED is no news: INPROGRESS, COMPLETED

    for browser in (phone, laptop):
        (received,) = browser.received
        assert received.payload == {
            "type": "task.completed",
            "task_id": task_id,
            "kind": "filter",
            "status": "COMPLETED",
            "title": "Your photo is ready",
            "body": "Tap to see it.",
        }
        assert received.vapid_public_key == vapid.public_key(env.vapid_key)
        assert received.vapid_claims["sub"] == "mailto:ops@saekdam.invalid"
        assert int(received.headers["ttl"]) == SETTINGS.ttl_s


async def test_a_failed_task_notifies_with_its_error(env):
    owner = await env.user()
    browser = await env.subscribe(owner)
    task_id, attempt = await env.started_task(owner)
    await env.publisher.publish(
        await env.tasks.fail(task_id, attempt, "stitch_failed", "the photos do not overlap")
    )
    await env.notifier().poll()
    (received,) = browser.received
    assert received.payload["type"] == "task.failed"
    assert received.payload["status"] == "FAILED"
    assert received.payload["body"] == "the photos do not overlap"


async def test_started_and_cancelled_tasks_notify_nobody(env):
    owner = await env.user()
    browser = await env.subscribe(owner)
    await env.started_task(owner)
    task = await env.tasks.create(owner, max_attempts=3)
    await env.publisher.publish(await env.tasks.cancel(task.id, owner))
    assert await env.notifier().poll() == 2
    assert browser.received == [] and browser.errors == []


async def test_other_peoples_tasks_do_not_notify_me(env):
    me, someone = await env.user(), await env.user()
    browser = await env.subscribe(me)
    await env.completed_task(someone)
    await env.notifier().poll()
    assert browser.received == []


async def test_an_entry_read_again_after_a_crash_notifies_once(env, monkeypatch):
    owner = await env.user()
    browser = await env.subscribe(owner)
    await env.completed_task(owner)

    crashing = Redis.from_url(env.redis_url)

    async def lost_ack(*_args, **_kwargs):
        raise RedisConnectionError("the worker died before acknowledging")

    monkeypatch.setattr(crashing, "xack", lost_ack)
    await env.notifier("worker-dies", redis=crashing).poll()
    await crashing.aclose()
    assert len(browser.received) == 1
    pending = await env.redis.xpending(TASK_NEWS_STREAM, env.group)
    assert pending["pending"] == 2

    survivor = env.notifier("worker-b")
    assert await survivor.reclaim(min_idle_s=0) == 2
    assert len(browser.received) == 1
    assert (await env.redis.xpending(TASK_NEWS_STREAM, env.group))["pending"] == 0


async def test_the_same_news_published_twice_notifies_once(env):
    owner = await env.user()
    browser = await env.subscribe(owner)
    task_id = await env.completed_task(owner)
    task = await env.tasks.get(task_id)
    await env.redis.xadd(
        TASK_NEWS_STREAM, {"task_id": task_id, "status": "COMPLETED", "seq": str(task.seq)}
    )
    notifier = env.notifier()
    await notifier.poll()
    await notifier.poll()
    assert len(browser.received) == 1


@pytest.mark.parametrize("status", [410, 404])
async def test_a_subscription_the_push_service_calls_gone_is_removed(env, status):
    owner = await env.user()
    gone, alive = await env.subscribe(owner, answers=[status]), await env.subscribe(owner)
    await env.completed_task(owner)
    await env.notifier().poll()
    assert gone.refused == [status] and gone.received == []
    assert not await env.subscription_exists(gone.id)
    assert len(alive.received) == 1 and await env.subscription_exists(alive.id)


async def test_a_busy_push_service_is_tried_again(env):
    owner = await env.user()
    browser = await env.subscribe(owner, answers=[503, 429])
    await env.completed_task(owner)
    await env.notifier().poll()
    assert browser.refused == [503, 429]
    assert len(browser.received) == 1 and await env.subscription_exists(browser.id)


async def test_a_refusal_is_not_retried_and_keeps_the_subscription(env):
    owner = await env.user()
    browser = await env.subscribe(owner, answers=[403, 403])
    await env.completed_task(owner)
    await env.notifier().poll()
    assert browser.refused == [403] and browser.received == []
    assert await env.subscription_exists(browser.id)


async def test_a_private_address_is_not_called_even_if_it_was_stored(env):
    owner = await env.user()
    browser = await env.subscribe(owner)
    browser_at_private = await env.subscribe(owner)
    async with env.sessions() as session, session.begin():
        row = await session.get(PushSubscription, browser_at_private.id)
        row.endpoint = "http://10.1.2.3:9/push/x"
    await env.completed_task(owner)
    await env.notifier().poll()
    assert len(browser.received) == 1
    assert await env.subscription_exists(browser_at_private.id)


async def test_without_a_vapid_key_no_push_loop_starts(env):
    assert (
        await start_push(env.sessions, env.redis, SETTINGS, **START, vapid_private_key=None) == []
    )


async def test_the_push_loop_notifies_in_the_background(env):
    owner = await env.user()
    browser = await env.subscribe(owner)
    (loop,) = await start_push(
        env.sessions, env.redis, SETTINGS, **START, vapid_private_key=env.vapid_key
    )
    try:
        await env.completed_task(owner)
        await asyncio.to_thread(env.push.wait_for, browser, 1, 10)
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
    assert browser.received[0].payload["status"] == "COMPLETED"
