import time

from saekdam_posture.throttle import MessageRate


def test_a_burst_of_one_seconds_worth_passes_then_messages_are_refused():
    limit = MessageRate(5)
    assert [limit.allow() for _ in range(7)] == [True] * 5 + [False] * 2


def test_the_bucket_refills_with_time():
    limit = MessageRate(20)
    while limit.allow():
        pass
    time.sleep(0.12)  # 20/s: about two messages' worth
    assert limit.allow()


def test_a_rate_below_one_a_second_still_lets_one_through():
    limit = MessageRate(0.5)
    assert limit.allow() is True
    assert limit.allow() is False
