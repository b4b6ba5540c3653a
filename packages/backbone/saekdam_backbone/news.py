"""The task-news stream (`TASK_NEWS_STREAM`): written by `EventPublisher`, read by the
webhook and push deliverers, each in its own consumer group.

Each group sees every entry once across its readers; an entry stays pending until its
reader acknowledges it, and one whose reader died is taken over with XAUTOCLAIM.
"""

from dataclasses import dataclass

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from saekdam_contracts.news import TaskNews
from saekdam_contracts.redis_keys import TASK_NEWS_STREAM

READ_COUNT = 50
MAX_RECLAIM_CALLS = 20


@dataclass(frozen=True)
class NewsEntry:
    entry_id: str
    news: TaskNews | None  # None: malformed (acknowledge it and move on)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _entries(raw) -> list[NewsEntry]:
    entries = []
    for entry_id, fields in raw:
        if not entry_id:  # Redis 6.2 lists an entry deleted meanwhile as nil
            continue
        try:
            news = TaskNews.from_fields(fields) if fields else None
        except ValidationError:
            news = None
        entries.append(NewsEntry(_text(entry_id), news))
    return entries


class NewsReader:
    def __init__(self, redis: Redis, group: str, consumer: str, *, start_id: str = "0"):
        """`start_id` for a new group: "0" reads what the stream still holds, "$" only
        what comes after the group was made."""
        self._redis, self._group, self._consumer = redis, group, consumer
        self._start_id = start_id
        self._reclaim_cursor = "0-0"

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(
                TASK_NEWS_STREAM, self._group, id=self._start_id, mkstream=True
            )
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self, block_ms: int | None) -> list[NewsEntry]:
        """New entries for this reader, waiting up to `block_ms` for the first."""
        response = await self._redis.xreadgroup(
            self._group, self._consumer, {TASK_NEWS_STREAM: ">"}, count=READ_COUNT, block=block_ms
        )
        return _entries(e for _stream, messages in response or [] for e in messages)

    async def reclaim(self, min_idle_s: float, max_calls: int = MAX_RECLAIM_CALLS):
        """Entries other readers left unacknowledged for `min_idle_s`, taken over. The scan
        resumes where the last call stopped, so an old entry behind many is reached."""
        taken: list[NewsEntry] = []
        for _ in range(max_calls):
            cursor, raw, *_deleted = await self._redis.xautoclaim(
                TASK_NEWS_STREAM,
                self._group,
                self._consumer,
                min_idle_time=int(min_idle_s * 1000),
                start_id=self._reclaim_cursor,
                count=READ_COUNT,
            )
            self._reclaim_cursor = _text(cursor)
            taken += _entries(raw)
            if taken or self._reclaim_cursor == "0-0":
                break
        return taken

    async def ack(self, *entry_ids: str) -> None:
        if entry_ids:
            await self._redis.xack(TASK_NEWS_STREAM, self._group, *entry_ids)

    async def forget_departed(self, idle_ms: int) -> None:
        """Drop readers (workers that are gone) with nothing pending, idle that long."""
        for consumer in await self._redis.xinfo_consumers(TASK_NEWS_STREAM, self._group):
            name = _text(consumer["name"])
            departed = consumer["pending"] == 0 and consumer["idle"] > idle_ms
            if departed and name != self._consumer:
                await self._redis.xgroup_delconsumer(TASK_NEWS_STREAM, self._group, name)
