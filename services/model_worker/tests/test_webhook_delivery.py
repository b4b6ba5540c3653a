"""Webhook delivery in process: real Redis, real databases, a real HTTP receiver.

Task changes go through the real `EventPublisher` (the task-news stream), the news consumer
queues deliveries, the deliverer sends them; every signature is checked with the Standard
Webhooks reference library.
"""

import asyncio
import contextlib
import inspect
import json
import secrets
import time
import uuid

import pytest
from redis.asyncio import Redis
from sqlalchemy import delete, select
from standardwebhooks import Webhook

from saekdam_backbone.db import create_engine, create_sessions
from saekdam_backbone.events import EventPublisher
from saekdam_backbone.notifications.models import WebhookDelivery, WebhookEndpoint
from saekdam_backbone.notifications.url_guard import checked_target
from saekdam_backbone.storage.local import LocalStorage
from saekdam_backbone.tasks.store import TaskStore
from saekdam_backbone.users import User
from saekdam_contracts.events import ResultItem
from saekdam_contracts.redis_keys import TASK_NEWS_STREAM, WEBHOOK_GROUP
from saekdam_contracts.tasks import TaskView
from saekdam_worker.notify.webhook_deliverer import WebhookDeliverer
from saekdam_worker.notify.webhook_news import WebhookNews
from saekdam_worker.notify.webhook_payloads import encode, webhook_payload
from saekdam_worker.notify.webhook_settings import WebhookSettings
from saekdam_worker.notify.webhook_store import WebhookStore
from tests.fixtures.webhook_receiver import Receiver

SCHEDULE = [0.2, 0.4, 0.8]
PUBLIC = "93.184.215.14"


@pytest.fixture
async def env(private_database_url, redis_url, tmp_path):
    engine = create_engine(private_database_url)
    sessions = create_sessions(engine)
    async with sessions() as session, session.begin():  # deliveries of earlier tests
        await session.execute(delete(WebhookEndpoint))
    redis = Redis.from_url(redis_url)
    storage = LocalStorage(tmp_path / "storage", secrets.token_bytes(16), "http://testserver")
    with Receiver() as receiver:
        yield Env(sessions, redis, storage, receiver)
    await redis.aclose()
    await engine.dispose()


class Env:
    def __init__(self, sessions, redis, storage, receiver):
        self.sessions, self.redis, self.storage, self.receiver = sessions, redis, storage, receiver
        self.tasks = TaskStore(sessions)
        self.publisher = EventPublisher(redis)
        self.store = WebhookStore(sessions)
        self._running: list[asyncio.Task] = []

    async def user(self) -> str:
        user_id = str(uuid.uuid4())
        async with self.sessions() as session, session.begin():
            session.add(User(id=user_id, username=f"u{secrets.token_hex(4)}", is_guest=True))
        return user_id

    async def endpoint(self, owner_id: str, url: str, events: list[str]) -> WebhookEndpoint:
        secret = "whsec_" + secrets.token_urlsafe(32).replace("-", "+").replace("_", "/")
        endpoint = WebhookEndpoint(
            id=str(uuid.uuid4()), owner_id=owner_id, url=url, events=events, secret=secret
        )
        async with self.sessions() as session, session.begin():
            session.add(endpoint)
        return endpoint

    async def started_task(self, owner_id: str) -> tuple[str, int]:
        task = await self.tasks.create(owner_id, max_attempts=3)
        await self.publisher.publish(
            await self.tasks.submit(task.id, owner_id, "filter", {"filter": "emboss"}, [])
        )
        claim = await self.tasks.claim(task.id, "worker-test", 30)
        await self.publisher.publish(claim.event)
        return task.id, claim.task.attempt

    async def complete(self, task_id: str, attempt: int) -> None:
        result = ResultItem(
            key=f"results/{task_id}/1/out.png", content_type="image/png", width=4, height=3
        )
        await self.publisher.publish(await self.tasks.complete(task_id, attempt, [result]))

    def start(self, *, resolver=None, allow_loopback=True, **overrides) -> WebhookDeliverer:
        settings = WebhookSettings(
            **{
                "retry_schedule_s": SCHEDULE,
                "poll_s": 0.05,
                "news_reclaim_idle_s": 30.0,
                **overrides,
            }
        )
        deliverer = WebhookDeliverer(
            self.store, settings, allow_loopback=allow_loopback, resolver=resolver
        )
        news = WebhookNews(
            self.redis,
            self.store,
            self.storage,
            settings,
            consumer="test",
            on_queued=deliverer.wake,
        )
        self._running += [asyncio.create_task(news.run()), asyncio.create_task(deliverer.run())]
        return deliverer

    async def stop(self) -> None:
        for task in self._running:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def deliveries(self, endpoint_id: str) -> list[WebhookDelivery]:
        async with self.sessions() as session:
            query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
            return list(await session.scalars(query.order_by(WebhookDelivery.created_at)))

    async def endpoint_row(self, endpoint_id: str) -> WebhookEndpoint:
        async with self.sessions() as session:
            return await session.get(WebhookEndpoint, endpoint_id)


async def until(check, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("timed out waiting")


def verified(endpoint: WebhookEndpoint, call) -> dict:
    """The body, once its signature checks out with the reference library."""
    return Webhook(endpoint.secret).verify(call.body, call.headers)


async def test_a_receiver_failing_three_times_gets_the_event_with_one_id_and_growing_gaps(env):
    owner = await env.user()
    url = env.receiver.answer("/flaky", (500, 0), (500, 0), (500, 0), (200, 0))
    endpoint = await env.endpoint(owner, url, ["task.completed"])
    env.start()
    try:
        task_id, attempt = await env.started_task(owner)
        await env.complete(task_id, attempt)
        calls = await until(
            lambda: len(env.receiver.calls_to("/flaky")) >= 4 and env.receiver.calls_to("/flaky")
        )
        rows = await until(lambda: _delivered(env, endpoint.id))
    finally:
        await env.stop()
    bodies = [verified(endpoint, c) for c in calls]
    assert len({c.headers["webhook-id"] for c in calls}) == 1
    assert calls[0].headers["content-type"] == "application/json"
    gaps = [later.at - earlier.at for earlier, later in zip(calls, calls[1:], strict=False)]
    assert all(gap >= wait for gap, wait in zip(gaps, SCHEDULE, strict=True)), gaps
    assert gaps == sorted(gaps)
    body = bodies[-1]
    assert body["type"] == "task.completed" and body["data"]["task_id"] == task_id
    assert body["data"]["status"] == "COMPLETED"
    assert body["data"]["results"][0]["url"].startswith("http://testserver/")
    assert "key" not in body["data"]["results"][0]
    TaskView.model_validate(body["data"])  # the shape GET /v1/tasks/{id} returns
    (row,) = rows
    assert (row.id, row.attempts, row.last_status_code) == (calls[0].headers["webhook-id"], 4, 200)
    assert len(env.receiver.calls_to("/flaky")) == 4  # the started event was not subscribed


async def _delivered(env, endpoint_id):
    rows = await env.deliveries(endpoint_id)
    return rows if rows and all(r.status == "delivered" for r in rows) else None


async def test_a_410_disables_the_endpoint_and_drops_its_pending_deliveries(env):
    owner = await env.user()
    url = env.receiver.answer("/gone", (410, 0))
    endpoint = await env.endpoint(owner, url, ["task.started", "task.completed"])
    task_id, attempt = await env.started_task(owner)
    await env.complete(task_id, attempt)
    env.start(per_endpoint_concurrency=1)
    try:
        row = await until(lambda: _disabled(env, endpoint.id))
        await asyncio.sleep(0.5)  # nothing more is sent
    finally:
        await env.stop()
    assert row.disabled_at is not None and "410" in row.disabled_reason
    (call,) = env.receiver.calls_to("/gone")
    verified(endpoint, call)
    statuses = sorted(d.status for d in await env.deliveries(endpoint.id))
    assert statuses == ["disabled", "disabled"]


async def _disabled(env, endpoint_id):
    row = await env.endpoint_row(endpoint_id)
    return row if row.disabled_at is not None else None


async def test_a_name_that_rebinds_to_loopback_is_refused_at_delivery(env):
    owner = await env.user()
    env.receiver.answer("/rebind", (200, 0))
    dns = {"hooks.example.test": [PUBLIC]}

    async def resolve(host, _port):
        return dns[host]

    url = f"http://hooks.example.test:{env.receiver.port}/rebind"
    await checked_target(url, allow_loopback=False, resolver=resolve)  # passes registration
    endpoint = await env.endpoint(owner, url, ["task.started"])
    dns["hooks.example.test"] = ["127.0.0.1"]  # the attacker's DNS answers differently now
    env.start(resolver=resolve, allow_loopback=False)
    try:
        await env.started_task(owner)
        row = await until(lambda: _attempted(env, endpoint.id, 2))
    finally:
        await env.stop()
    assert env.receiver.calls_to("/rebind") == []
    assert row.status == "pending" and row.last_error.startswith("url_not_allowed")
    assert "127.0.0.1" in row.last_error


async def _attempted(env, endpoint_id, times):
    rows = await env.deliveries(endpoint_id)
    return rows[0] if rows and rows[0].attempts >= times and rows[0].lease_until is None else None


async def test_a_slow_receiver_delays_neither_the_job_nor_another_users_delivery(env):
    slow_owner, fast_owner = await env.user(), await env.user()
    slow = await env.endpoint(
        slow_owner, env.receiver.answer("/slow", (200, 5.0)), ["task.started", "task.completed"]
    )
    fast = await env.endpoint(
        fast_owner, env.receiver.answer("/fast", (200, 0)), ["task.completed"]
    )
    env.start()
    try:
        slow_task, slow_attempt = await env.started_task(slow_owner)
        await until(lambda: env.receiver.calls_to("/slow"))  # the slow one is in flight
        began = time.monotonic()
        # The job finishes while its owner's receiver hangs: publishing never waits on it.
        await env.complete(slow_task, slow_attempt)
        # Well under the receiver's 5 s, with room for a loaded 2-core machine.
        assert time.monotonic() - began < 2.5
        fast_task, fast_attempt = await env.started_task(fast_owner)
        await env.complete(fast_task, fast_attempt)
        (call,) = await until(lambda: env.receiver.calls_to("/fast"), timeout_s=4)
        assert call.at - began < 4.0
        assert verified(fast, call)["data"]["task_id"] == fast_task
        slow_calls = await until(
            lambda: len(env.receiver.calls_to("/slow")) == 2 and env.receiver.calls_to("/slow"),
            timeout_s=10,
        )
    finally:
        await env.stop()
    assert {verified(slow, c)["type"] for c in slow_calls} == {"task.started", "task.completed"}


async def test_a_timeout_counts_as_a_failure_and_is_retried(env):
    owner = await env.user()
    url = env.receiver.answer("/hang", (200, 3.0), (200, 0))
    endpoint = await env.endpoint(owner, url, ["task.started"])
    env.start(timeout_s=0.3)
    try:
        await env.started_task(owner)
        rows = await until(lambda: _delivered(env, endpoint.id))
    finally:
        await env.stop()
    calls = env.receiver.calls_to("/hang")
    assert len(calls) == 2 and calls[1].at - calls[0].at >= 0.3 + SCHEDULE[0]
    assert rows[0].attempts == 2


async def test_news_read_twice_or_left_by_a_dead_reader_queues_each_delivery_once(env):
    owner = await env.user()
    endpoint = await env.endpoint(owner, env.receiver.url("/once"), ["task.started"])
    news = WebhookNews(
        env.redis,
        env.store,
        env.storage,
        WebhookSettings(news_reclaim_idle_s=0.1),
        consumer="alive",
    )
    await news.ensure_group()
    await news.handle_once(block_ms=10)  # drain what earlier tests left
    task_id, _attempt = await env.started_task(owner)
    # A reader that takes the entry and dies before acknowledging it.
    taken = await env.redis.xreadgroup(WEBHOOK_GROUP, "dead", {TASK_NEWS_STREAM: ">"}, count=100)
    assert taken
    assert await news.handle_once(block_ms=10) == 0  # not idle long enough yet
    await asyncio.sleep(0.2)
    assert await news.handle_once(block_ms=10) == 1  # taken over
    (row,) = await env.deliveries(endpoint.id)
    # The same news again (a re-read) adds nothing.
    ((_, entries),) = taken
    for _entry_id, fields in entries:
        await env.redis.xadd(TASK_NEWS_STREAM, fields)
    assert await news.handle_once(block_ms=10) == 0
    assert [r.id for r in await env.deliveries(endpoint.id)] == [row.id]
    pending = await env.redis.xpending(TASK_NEWS_STREAM, WEBHOOK_GROUP)
    assert pending["pending"] == 0


def test_a_body_over_the_cap_loses_params_then_results():
    results = [
        {
            "url": "https://cdn.example.com/" + "x" * 900,
            "content_type": "image/png",
            "width": 1,
            "height": 1,
        }
        for _ in range(40)
    ]
    view = TaskView(
        task_id="t",
        status="COMPLETED",
        kind="filter",
        params={"filter": "emboss", "p": "y" * 5000},
        seq=3,
        progress=1.0,
        stage="done",
        step=None,
        total_steps=None,
        eta_s=0.0,
        attempt=1,
        results=results,
        created_at="2026-01-01T00:00:00Z",
        submitted_at=None,
        started_at=None,
        finished_at=None,
    )
    body = webhook_payload("task.completed", view, 20_000)
    assert len(encode(body).encode()) <= 20_000
    assert body["truncated"] is True and body["data"]["params"] is None
    assert 0 < len(body["data"]["results"]) < 40
    small = webhook_payload("task.completed", view.model_copy(update={"results": []}), 20_000)
    assert "truncated" not in small and small["data"]["params"]["filter"] == "emboss"
    assert json.loads(encode(small))["type"] == "task.completed"


def test_the_retry_schedule_ends_in_giving_up():
    deliverer = WebhookDeliverer(
        None, WebhookSettings(retry_schedule_s=[1, 10], jitter=0.5), allow_loopback=False
    )
    first, second = deliverer.retry_in(1), deliverer.retry_in(2)
    assert 1 <= first <= 1.5 and 10 <= second <= 15
    assert deliverer.retry_in(3) is None
    assert WebhookSettings().retry_schedule_s == [5, 300, 1800, 7200, 18000, 36000, 36000]
