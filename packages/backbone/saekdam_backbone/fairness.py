"""Fair turns: the order in which a kind's QUEUED tasks start.

Tasks already on the stream go first, in stream order (workers read it FIFO). The rest
start round-robin across people: each round takes every waiting person's oldest task,
people ordered by how long ago they last got a turn (never first), so one person's 50
jobs cannot keep anyone else waiting more than one round. The dispatcher uses this order
to choose what to put on the stream; the API uses it to tell a task its place.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import zip_longest
from typing import Literal

QueueOrder = Literal["fair", "fifo"]


@dataclass(frozen=True)
class Waiting:
    task_id: str
    owner_id: str
    available_at: float
    enqueued_at: float | None

    @property
    def dispatched(self) -> bool:
        """On the stream now: enqueued since it last became available."""
        return self.enqueued_at is not None and self.enqueued_at >= self.available_at


def start_order(
    waiting: Iterable[Waiting], turns: dict[str, int], order: QueueOrder = "fair"
) -> list[Waiting]:
    """`turns`: each person's last turn (a growing counter); missing means never."""
    tasks = sorted(waiting, key=lambda w: (w.available_at, w.task_id))
    dispatched = sorted(
        (w for w in tasks if w.dispatched), key=lambda w: (w.enqueued_at, w.task_id)
    )
    rest = [w for w in tasks if not w.dispatched]
    if order == "fifo":
        return dispatched + rest
    by_owner: dict[str, list[Waiting]] = {}
    for task in rest:
        by_owner.setdefault(task.owner_id, []).append(task)
    owners = sorted(by_owner, key=lambda o: (turns.get(o, 0), by_owner[o][0].available_at))
    rounds = zip_longest(*(by_owner[o] for o in owners))
    return dispatched + [task for one_round in rounds for task in one_round if task is not None]
