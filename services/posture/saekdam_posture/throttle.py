"""How fast one websocket session may send messages (not the HTTP rate limits, which
`saekdam_web.ratelimit` counts in Redis across replicas)."""

import time


class MessageRate:
    """A token bucket: `rate` messages a second, bursts up to one second's worth (at least 1)."""

    def __init__(self, rate: float):
        self.rate, self.burst, self.at = rate, max(1.0, rate), time.monotonic()
        self.tokens = self.burst

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
