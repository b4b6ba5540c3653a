"""Web Push for finished tasks, fed by the task-news stream (consumer group `PUSH_GROUP`).

Every worker reads in the group, so each entry is handled by one of them. For a COMPLETED
or FAILED task, one notification goes to each of its owner's subscriptions; then the entry
is acknowledged. An entry whose reader died is taken over with XAUTOCLAIM after
`reclaim_idle_s`. A Redis key per (task, subscription), taken with SET NX before sending,
makes an entry read twice push once. A subscription its push service calls gone (404/410)
is deleted. Nothing here runs inside a job.
"""

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from saekdam_backbone.news import NewsEntry, NewsReader
from saekdam_backbone.notifications.models import PushSubscription
from saekdam_backbone.notifications.url_guard import UrlNotAllowed, checked_target
from saekdam_backbone.tasks.models import Task
from saekdam_contracts.news import TaskNews
from saekdam_contracts.push import EVENT_FOR_STATUS, PushNotification
from saekdam_contracts.redis_keys import PUSH_GROUP, PUSH_SENT_PREFIX
from saekdam_contracts.status import TaskStatus

from .push_sender import Destination, PushResult, PushSender, Verdict
from .push_settings import PushSettings

log = logging.getLogger(__name__)

BLOCK_MS = 5000
MAX_RECLAIM_CALLS = 20
MAX_RETRY_AFTER_S = 30.0
# A consumer (a worker that is gone) with nothing pending is dropped from the group after this.
FORGET_CONSUMER_AFTER_MS = 3600 * 1000
KIND_NAMES = {"mural": "mural", "sketch": "picture", "filter": "photo", "panorama": "panorama"}


def notification(status: TaskStatus, task: Task) -> PushNotification:
    what = KIND_NAMES.get(task.kind or "", "task")
    if status == TaskStatus.COMPLETED:
        title, body = f"Your {what} is ready", "Tap to see it."
    else:
        title = f"Your {what} could not be made"
        body = (task.error_message or "Something went wrong; try again.")[:300]
    return PushNotification(
        type=EVENT_FOR_STATUS[status],
        task_id=task.id,
        kind=task.kind,
        status=status,
        title=title,
        body=body,
    )


class PushNotifier:
    def __init__(
        self,
        redis: Redis,
        sessions: async_sessionmaker,
        sender: PushSender,
        settings: PushSettings,
        *,
        consumer: str,
        group: str = PUSH_GROUP,
    ):
        """`group` is replaced only by tests, which read the stream in a group of their own."""
        self._redis, self._sessions, self._sender = redis, sessions, sender
        self._settings = settings
        # From now on ("$"): tasks that ended before push was set up tell nobody.
        self._news = NewsReader(redis, group, consumer, start_id="$")
        self._slots = asyncio.Semaphore(settings.concurrency)

    async def ensure_group(self) -> None:
        await self._news.ensure_group()

    async def run(self) -> None:
        group_ready = False
        while True:
            try:
                if not group_ready:
                    await self.ensure_group()
                    group_ready = True
                await self.reclaim()
                await self.poll(BLOCK_MS)
            except ResponseError as exc:
                # NOGROUP: Redis lost the stream (a restart without persistence).
                group_ready = "NOGROUP" not in str(exc)
                log.warning("push notifier: redis error; retrying", exc_info=True)
                await asyncio.sleep(1.0)
            except Exception:  # noqa: BLE001 - Redis or database blip: entries stay pending
                log.warning("push notifier error; retrying", exc_info=True)
                await asyncio.sleep(1.0)

    async def poll(self, block_ms: int | None = None) -> int:
        """Read new entries once (waiting up to `block_ms`) and handle them; how many."""
        entries = await self._news.read(block_ms)
        await self._handle_all(entries)
        return len(entries)

    async def reclaim(self, min_idle_s: float | None = None) -> int:
        """Take over entries other readers left unacknowledged that long; how many."""
        idle_s = self._settings.reclaim_idle_s if min_idle_s is None else min_idle_s
        taken = 0
        for _ in range(MAX_RECLAIM_CALLS):
            entries = await self._news.reclaim(idle_s)
            if not entries:
                break
            await self._handle_all(entries)
            taken += len(entries)
        await self._news.forget_departed(FORGET_CONSUMER_AFTER_MS)
        return taken

    async def _handle_all(self, entries: list[NewsEntry]) -> None:
        await asyncio.gather(*(self._handle(entry) for entry in entries))

    async def _handle(self, entry: NewsEntry) -> None:
        news = entry.news
        if news is None:
            log.error("malformed task news entry dropped", extra={"outcome": entry.entry_id})
        try:
            if news is not None and news.status in EVENT_FOR_STATUS:
                await self._notify_owner(news)
            await self._news.ack(entry.entry_id)
        except Exception:  # noqa: BLE001 - left pending: a reclaim takes it up again
            log.warning(
                "task news entry left pending", extra={"outcome": entry.entry_id}, exc_info=True
            )

    async def _notify_owner(self, news: TaskNews) -> None:
        async with self._sessions() as session:
            task = await session.get(Task, news.task_id)
            if task is None:  # deleted with its account
                return
            subscriptions = list(
                await session.scalars(
                    select(PushSubscription).where(PushSubscription.owner_id == task.owner_id)
                )
            )
        if not subscriptions:
            return
        payload = notification(news.status, task).model_dump_json().encode()
        await asyncio.gather(*(self._push_once(task.id, s, payload) for s in subscriptions))

    async def _push_once(
        self, task_id: str, subscription: PushSubscription, payload: bytes
    ) -> None:
        key = f"{PUSH_SENT_PREFIX}{task_id}:{subscription.id}"
        lease_ms = self._settings.sending_lease_ms
        if not await self._redis.set(key, "sending", nx=True, px=lease_ms):
            return  # sent already, or being sent by another reader of this entry
        result = await self._deliver(subscription, payload)
        if result.verdict is Verdict.GONE:
            await self._forget(subscription)
        await self._redis.set(key, str(result.verdict), ex=self._settings.dedupe_ttl_s)
        log.log(
            logging.INFO if result.verdict is Verdict.DELIVERED else logging.WARNING,
            "web push %s (%s)",
            result.verdict,
            result.reason or result.status_code,
            extra={"task_id": task_id, "outcome": str(result.verdict)},
        )

    async def _deliver(self, subscription: PushSubscription, payload: bytes) -> PushResult:
        try:
            # Checked again at every send: the name may resolve elsewhere than it did.
            await checked_target(subscription.endpoint, allow_loopback=self._settings.allow_http)
        except UrlNotAllowed as exc:
            return PushResult(Verdict.REFUSED, reason=str(exc))
        destination = Destination(subscription.endpoint, subscription.p256dh, subscription.auth)
        result = PushResult(Verdict.BUSY)
        for attempt in range(self._settings.attempts):
            if attempt:
                backoff_s = self._settings.retry_base_s * 2 ** (attempt - 1)
                await asyncio.sleep(min(result.retry_after_s or backoff_s, MAX_RETRY_AFTER_S))
            async with self._slots:
                result = await self._sender.send(destination, payload)
            if result.verdict is not Verdict.BUSY:
                break
        return result

    async def _forget(self, subscription: PushSubscription) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                delete(PushSubscription).where(PushSubscription.id == subscription.id)
            )


async def start_push(
    sessions: async_sessionmaker,
    redis: Redis,
    settings: PushSettings,
    *,
    vapid_private_key: str | None,
    vapid_subject: str,
    consumer: str,
) -> list[asyncio.Task]:
    """The push loop as a task (none without a VAPID key); the caller cancels it. Its group
    exists on return, so no task this worker finishes afterwards goes unannounced."""
    if vapid_private_key is None:
        log.info("web push is off: no VAPID_PRIVATE_KEY")
        return []
    sender = PushSender(
        vapid_private_key, vapid_subject, timeout_s=settings.timeout_s, ttl_s=settings.ttl_s
    )
    notifier = PushNotifier(redis, sessions, sender, settings, consumer=consumer)
    await notifier.ensure_group()
    return [asyncio.create_task(notifier.run(), name="push-notifier")]
