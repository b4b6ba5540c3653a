"""The job queue: one Redis stream per job kind, one consumer group of workers.

A message is acknowledged only once its task reached a state no other worker needs to act
on. A worker that dies leaves its message pending; after the lease time another worker
takes it over with XAUTOCLAIM, and the fenced claim in the task store decides who runs it.
"""

from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from saekdam_contracts.queue import JobMessage
from saekdam_contracts.redis_keys import DEAD_LETTER_STREAM, JOB_STREAM, WORKER_GROUP

# Acked messages are deleted; this only bounds a stream nobody consumes.
STREAM_MAXLEN = 100_000


def stream_for(kind: str) -> str:
    return f"{JOB_STREAM}:{kind}"


@dataclass(frozen=True)
class Delivery:
    stream: str
    message_id: str
    message: JobMessage | None  # None: malformed, dead-letter it


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _delivery(stream, message_id, fields) -> Delivery:
    try:
        message = JobMessage.from_fields(fields or {})
    except ValueError:
        message = None
    return Delivery(_text(stream), _text(message_id), message)


class JobQueue:
    def __init__(self, redis: Redis, group: str = WORKER_GROUP):
        self._redis = redis
        self._group = group
        self._reclaim_cursor: dict[str, str] = {}

    async def enqueue(self, message: JobMessage) -> str:
        message_id = await self._redis.xadd(
            stream_for(message.kind), message.to_fields(), maxlen=STREAM_MAXLEN, approximate=True
        )
        return _text(message_id)

    async def enqueue_many(self, messages: list[JobMessage]) -> list[str]:
        """Several at once, in order, in one round trip; their message ids."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for message in messages:
                pipe.xadd(
                    stream_for(message.kind),
                    message.to_fields(),
                    maxlen=STREAM_MAXLEN,
                    approximate=True,
                )
            return [_text(message_id) for message_id in await pipe.execute()]

    async def length(self, kind: str) -> int:
        """Messages on the kind's stream, delivered or not (acknowledged ones are deleted)."""
        return int(await self._redis.xlen(stream_for(kind)))

    async def contains(self, kind: str, message_id: str) -> bool:
        """Whether the message is still on the stream (not yet acknowledged and deleted)."""
        return bool(await self._redis.xrange(stream_for(kind), message_id, message_id))

    async def ensure_groups(self, kinds: list[str]) -> None:
        for kind in kinds:
            try:
                await self._redis.xgroup_create(
                    stream_for(kind), self._group, id="0", mkstream=True
                )
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def read(
        self, consumer: str, kinds: list[str], count: int, block_ms: int
    ) -> list[Delivery]:
        response = await self._redis.xreadgroup(
            self._group, consumer, {stream_for(k): ">" for k in kinds}, count=count, block=block_ms
        )
        return [
            _delivery(stream, message_id, fields)
            for stream, messages in response or []
            for message_id, fields in messages
        ]

    async def reclaim(
        self, consumer: str, kinds: list[str], min_idle_ms: int, max_calls: int = 100
    ) -> list[Delivery]:
        """Take over one message left pending longer than `min_idle_ms` (its worker died).

        XAUTOCLAIM looks at a bounded slice of the pending list per call, so the scan
        resumes from where the last one stopped; otherwise a dead worker's message behind
        many live ones would never be reached."""
        for kind in kinds:
            stream = stream_for(kind)
            start = self._reclaim_cursor.get(stream, "0-0")
            for _ in range(max_calls):
                cursor, messages, *_deleted = await self._redis.xautoclaim(
                    stream,
                    self._group,
                    consumer,
                    min_idle_time=min_idle_ms,
                    start_id=start,
                    count=1,
                )
                start = self._reclaim_cursor[stream] = _text(cursor)
                found = [_delivery(stream, mid, fields) for mid, fields in messages if fields]
                if found:
                    return found
                if start == "0-0":
                    break
        return []

    async def touch(self, consumer: str, delivery: Delivery) -> None:
        """Reset the message's idle time so nobody reclaims a job whose worker is alive."""
        await self._redis.xclaim(
            delivery.stream,
            self._group,
            consumer,
            min_idle_time=0,
            message_ids=[delivery.message_id],
            justid=True,
        )

    async def ack(self, delivery: Delivery) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(delivery.stream, self._group, delivery.message_id)
            pipe.xdel(delivery.stream, delivery.message_id)
            await pipe.execute()

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        fields = {"stream": delivery.stream, "message_id": delivery.message_id, "reason": reason}
        if delivery.message is not None:
            fields |= delivery.message.to_fields()
        await self._redis.xadd(DEAD_LETTER_STREAM, fields, maxlen=STREAM_MAXLEN, approximate=True)

    async def depth(self, kinds: list[str]) -> dict[str, dict[str, int]]:
        """Per kind: messages not yet delivered (`waiting`) and delivered but unacked."""
        depths = {}
        for kind in kinds:
            stream = stream_for(kind)
            try:
                groups = await self._redis.xinfo_groups(stream)
            except ResponseError:  # no such stream yet
                depths[kind] = {"waiting": 0, "pending": 0}
                continue
            group = next((g for g in groups if _text(g["name"]) == self._group), None)
            length = await self._redis.xlen(stream)
            pending = int(group["pending"]) if group else 0
            lag = group.get("lag") if group else None
            waiting = int(lag) if lag is not None else max(length - pending, 0)
            depths[kind] = {"waiting": waiting, "pending": pending}
        return depths
