"""The worker's preview tap on real Redis: previews only while someone watches, no faster
than the watchers asked (and never under 0.25 s), published and kept as the latest."""

import asyncio
import base64
import io
import threading

import numpy as np
from PIL import Image
from redis.asyncio import Redis

from saekdam_backbone.previews import PreviewBus
from saekdam_contracts.previews import PreviewFrame, PreviewOptions
from saekdam_contracts.redis_keys import PREVIEW_LATEST_PREFIX
from saekdam_worker.previews import PreviewTap


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def settle(tap: PreviewTap) -> None:
    """Let the loop run what the job thread handed it."""
    for _ in range(20):
        await asyncio.sleep(0.01)


async def test_nobody_watching_means_no_preview(redis_url):
    redis = Redis.from_url(redis_url)
    tap = PreviewTap("t-alone", PreviewBus(redis), threading.Event(), check_every_s=0)
    try:
        assert tap.wanted() is None
        await settle(tap)
        assert tap.wanted() is None
    finally:
        tap.close()
        await redis.aclose()


async def test_the_watchers_smallest_interval_and_largest_side_win(redis_url):
    redis = Redis.from_url(redis_url)
    bus, clock = PreviewBus(redis), Clock()
    await bus.watch("t-two", "a", PreviewOptions(max_side=128, every_s=2.0))
    await bus.watch("t-two", "b", PreviewOptions(max_side=384, every_s=0.5))
    tap = PreviewTap("t-two", bus, threading.Event(), clock=clock)
    try:
        assert tap.wanted() is None  # the first ask starts the first look
        await settle(tap)
        assert tap.wanted() == 384
        clock.now += 0.4
        assert tap.wanted() is None  # too soon for every_s 0.5
        clock.now += 0.1
        assert tap.wanted() == 384
        await bus.unwatch("t-two", "b")
        clock.now += 1.0  # the cached answer is a second old: look again
        tap.wanted()
        await settle(tap)
        clock.now += 0.6
        assert tap.wanted() is None  # 2 s now
        clock.now += 1.4
        assert tap.wanted() == 128
    finally:
        tap.close()
        await redis.aclose()


async def test_no_watcher_gets_previews_faster_than_every_quarter_second(redis_url):
    redis = Redis.from_url(redis_url)
    bus, clock = PreviewBus(redis), Clock()
    # The API refuses every_s < 0.25; an entry written otherwise is still held to it.
    await redis.hset(
        "saekdam:previews:watch:t-fast", "x", '{"max_side": 256, "every_s": 0.01, "until": 9e9}'
    )
    tap = PreviewTap("t-fast", bus, threading.Event(), clock=clock, check_every_s=60)
    try:
        tap.wanted()
        await settle(tap)
        assert tap.wanted() == 256
        clock.now += 0.2
        assert tap.wanted() is None
        clock.now += 0.05
        assert tap.wanted() == 256
    finally:
        tap.close()
        await redis.aclose()


async def test_an_expired_watch_entry_is_nobody(redis_url):
    redis = Redis.from_url(redis_url)
    await redis.hset(
        "saekdam:previews:watch:t-gone", "x", '{"max_side": 256, "every_s": 0.5, "until": 1}'
    )
    assert await PreviewBus(redis).demand("t-gone") is None
    await redis.aclose()


async def test_a_shown_preview_is_published_kept_as_latest_and_forgotten_after(redis_url):
    redis = Redis.from_url(redis_url)
    bus = PreviewBus(redis, channel="test-preview-tap")
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe("test-preview-tap")
    tap = PreviewTap("t-shown", bus, threading.Event())
    picture = np.random.default_rng(0).integers(0, 256, (192, 256, 3), np.uint8)
    try:
        # From a thread, as the job does.
        await asyncio.to_thread(tap.show, 3, 12, picture)
        async with asyncio.timeout(5):
            message = await anext(pubsub.listen())
        frame = PreviewFrame.model_validate_json(message["data"])
        assert (frame.task_id, frame.step, frame.total_steps) == ("t-shown", 3, 12)
        header, payload = frame.image.split(",", 1)
        assert header == "data:image/jpeg;base64"
        data = base64.b64decode(payload)
        assert len(data) <= 32_000
        assert Image.open(io.BytesIO(data)).size == (frame.width, frame.height) == (256, 192)
        assert await bus.latest("t-shown") == frame
        assert 0 < await redis.ttl(PREVIEW_LATEST_PREFIX + "t-shown") <= 60
        tap.close()
        await settle(tap)
        assert await bus.latest("t-shown") is None
    finally:
        await pubsub.aclose()
        await redis.aclose()


async def test_a_stopped_job_publishes_nothing_more(redis_url):
    redis = Redis.from_url(redis_url)
    stopped = threading.Event()
    bus = PreviewBus(redis)
    await bus.watch("t-stop", "a", PreviewOptions())
    tap = PreviewTap("t-stop", bus, stopped)
    tap.wanted()
    await settle(tap)
    stopped.set()
    try:
        assert tap.wanted() is None
        tap.show(1, 4, np.zeros((8, 8, 3), np.uint8))
        await settle(tap)
        assert tap.sent == 0
    finally:
        tap.close()
        await redis.aclose()
