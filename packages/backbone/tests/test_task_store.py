"""The fenced transitions of the task store, on SQLite and PostgreSQL."""

import pytest

from saekdam_backbone.db import create_engine, create_sessions
from saekdam_backbone.tasks.store import Claim, Exhausted, TaskStore
from saekdam_contracts.events import ResultItem
from saekdam_contracts.status import TaskStatus


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def engine(private_database_url):
    # A database of its own: these tasks are queued but never enqueued, and a worker's
    # reconciler elsewhere in the session must not pick them up.
    engine = create_engine(private_database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(engine, clock):
    return TaskStore(create_sessions(engine), clock=clock)


async def queued_task(store: TaskStore, max_attempts: int = 3, owner: str = "owner-1") -> str:
    task = await store.create(owner, max_attempts=max_attempts)
    event = await store.submit(task.id, owner, "noop", {"steps": 1}, [])
    assert event is not None and event.status == TaskStatus.QUEUED
    return task.id


RESULT = ResultItem(key="results/t/1/out.png", content_type="image/png", width=8, height=8)


async def test_submit_happens_once(store):
    task_id = await queued_task(store)
    assert await store.submit(task_id, "owner-1", "noop", {}, []) is None
    assert (await store.get(task_id)).seq == 1


async def test_submit_by_another_user_changes_nothing(store):
    task = await store.create("owner-1", max_attempts=3)
    assert await store.submit(task.id, "intruder", "noop", {}, []) is None
    assert (await store.get(task.id)).status == TaskStatus.CREATED


async def test_seq_grows_by_one_per_change(store):
    task_id = await queued_task(store)
    claim = await store.claim(task_id, "w1", lease_s=10)
    assert isinstance(claim, Claim)
    seqs = [claim.event.seq]
    for i in range(3):
        event = await store.report_progress(
            task_id, claim.task.attempt, progress=i / 3, stage="run", step=i, total_steps=3, eta_s=1
        )
        seqs.append(event.seq)
    seqs.append((await store.complete(task_id, claim.task.attempt, [RESULT])).seq)
    assert seqs == list(range(2, 2 + len(seqs)))


async def test_a_live_lease_cannot_be_claimed_twice(store, clock):
    task_id = await queued_task(store)
    assert isinstance(await store.claim(task_id, "w1", lease_s=10), Claim)
    clock.now += 5
    assert await store.claim(task_id, "w2", lease_s=10) is None


async def test_a_lapsed_lease_is_taken_over_and_the_old_attempt_is_fenced(store, clock):
    task_id = await queued_task(store)
    first = await store.claim(task_id, "w1", lease_s=10)
    clock.now += 11
    second = await store.claim(task_id, "w2", lease_s=10)
    assert isinstance(second, Claim) and second.task.attempt == first.task.attempt + 1

    old = first.task.attempt
    assert await store.renew_lease(task_id, old, 10) is False
    assert (
        await store.report_progress(
            task_id, old, progress=0.9, stage="run", step=None, total_steps=None, eta_s=None
        )
        is None
    )
    assert await store.complete(task_id, old, [RESULT]) is None
    assert await store.fail(task_id, old, "x", "y") is None

    done = await store.complete(task_id, second.task.attempt, [RESULT])
    assert done.status == TaskStatus.COMPLETED and done.results == [RESULT]


async def test_terminal_states_never_change(store):
    task_id = await queued_task(store)
    claim = await store.claim(task_id, "w1", lease_s=10)
    await store.complete(task_id, claim.task.attempt, [RESULT])
    assert await store.cancel(task_id, "owner-1") is None
    assert await store.fail(task_id, claim.task.attempt, "late", "late") is None
    assert await store.claim(task_id, "w2", lease_s=10) is None
    assert (await store.get(task_id)).status == TaskStatus.COMPLETED


async def test_cancel_of_a_running_task_fences_its_worker(store):
    task_id = await queued_task(store)
    claim = await store.claim(task_id, "w1", lease_s=10)
    cancelled = await store.cancel(task_id, "owner-1")
    assert cancelled.status == TaskStatus.CANCELLED
    assert await store.renew_lease(task_id, claim.task.attempt, 10) is False
    assert await store.complete(task_id, claim.task.attempt, [RESULT]) is None


async def test_a_task_that_keeps_dying_fails_after_max_attempts(store, clock):
    task_id = await queued_task(store, max_attempts=2)
    for _ in range(2):
        assert isinstance(await store.claim(task_id, "w", lease_s=1), Claim)
        clock.now += 2
    exhausted = await store.claim(task_id, "w", lease_s=1)
    assert isinstance(exhausted, Exhausted)
    assert exhausted.event.status == TaskStatus.FAILED
    assert exhausted.event.error.code == "max_attempts_exceeded"


async def test_retry_waits_for_its_backoff(store, clock):
    task_id = await queued_task(store)
    claim = await store.claim(task_id, "w1", lease_s=10)
    event = await store.retry_later(task_id, claim.task.attempt, 30, "busy", "try later")
    assert event.status == TaskStatus.QUEUED
    assert await store.claim(task_id, "w1", lease_s=10) is None
    assert task_id not in await due_ids(store, grace_s=0)
    clock.now += 31
    assert task_id in await due_ids(store, grace_s=0)
    assert isinstance(await store.claim(task_id, "w1", lease_s=10), Claim)


async def test_release_gives_the_attempt_back(store):
    task_id = await queued_task(store, max_attempts=1)
    claim = await store.claim(task_id, "w1", lease_s=10)
    released = await store.release(task_id, claim.task.attempt)
    assert released.status == TaskStatus.QUEUED
    again = await store.claim(task_id, "w2", lease_s=10)
    assert isinstance(again, Claim) and again.task.attempt == claim.task.attempt + 1


async def test_never_enqueued_tasks_are_due_after_the_grace(store, clock):
    task_id = await queued_task(store)
    assert task_id not in await due_ids(store, grace_s=5)
    clock.now += 6
    assert (task_id, "noop", None) in await store.due_for_enqueue(grace_s=5, requeue_after_s=60)
    await store.mark_enqueued(task_id, "1-0")
    assert task_id not in await due_ids(store, grace_s=5)
    clock.now += 61
    # Long after its enqueue it is due again, with the message id to check on the stream.
    assert (task_id, "noop", "1-0") in await store.due_for_enqueue(grace_s=5, requeue_after_s=60)


async def test_progress_never_goes_backwards_even_across_attempts(store, clock):
    task_id = await queued_task(store)
    first = await store.claim(task_id, "w1", lease_s=10)
    await report(store, task_id, first.task.attempt, 0.6)
    assert (await report(store, task_id, first.task.attempt, 0.4)).progress == 0.6
    clock.now += 11
    second = await store.claim(task_id, "w2", lease_s=10)
    assert second.event.progress == 0.6
    assert (await report(store, task_id, second.task.attempt, 0.1)).progress == 0.6
    assert (await report(store, task_id, second.task.attempt, 0.9)).progress == 0.9


async def test_with_the_database_clock_a_fresh_submit_is_claimable_at_once(engine):
    store = TaskStore(create_sessions(engine))  # no injected clock: the database's own
    task_id = await queued_task(store)
    claim = await store.claim(task_id, "w1", lease_s=10)
    assert isinstance(claim, Claim)
    assert await store.renew_lease(task_id, claim.task.attempt, 10) is True
    assert await store.claim(task_id, "w2", lease_s=10) is None


async def due_ids(store: TaskStore, grace_s: float) -> list[str]:
    return [t for t, _, _ in await store.due_for_enqueue(grace_s=grace_s, requeue_after_s=60)]


async def report(store: TaskStore, task_id: str, attempt: int, progress: float):
    return await store.report_progress(
        task_id, attempt, progress=progress, stage="run", step=None, total_steps=None, eta_s=None
    )
