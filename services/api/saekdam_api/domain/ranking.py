"""The popular order: likes with time decay, as one number that only likes change.

    hot = log10(max(likes, 1)) + (created_at - 2026-01-01) / 45,000 s

Reddit's "hot" formula. Each 12.5 hours of age is worth a factor of 10 in likes: a post needs
10x the likes to stay level with one 12.5 hours newer, so yesterday's hit gives way to
today's. Unlike likes / age^g it does not change while time passes, so it can be stored,
indexed, and paged with a keyset cursor that stays stable.
"""

import math
from datetime import UTC, datetime

HOT_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
SECONDS_PER_DECADE_OF_LIKES = 45_000


def hot_score(likes: int, created_at: datetime) -> float:
    age = (created_at - HOT_EPOCH).total_seconds()
    return math.log10(max(likes, 1)) + age / SECONDS_PER_DECADE_OF_LIKES
