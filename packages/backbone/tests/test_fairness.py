from saekdam_backbone.fairness import Waiting, start_order


def _queue(owner: str, count: int, start: float = 0.0) -> list[Waiting]:
    return [Waiting(f"{owner}{i}", owner, start + i, None) for i in range(count)]


def test_one_persons_many_jobs_take_turns_with_a_newcomer():
    waiting = _queue("a", 30) + _queue("b", 1, start=100)
    order = [w.task_id for w in start_order(waiting, turns={"a": 5})]
    # b never had a turn, a just had one: b goes first, then a's jobs in their order.
    assert order[:3] == ["b0", "a0", "a1"] and len(order) == 31


def test_rounds_alternate_between_people_by_their_last_turn():
    waiting = _queue("a", 3) + _queue("b", 3, start=50) + _queue("c", 1, start=70)
    order = [w.task_id for w in start_order(waiting, turns={"a": 2, "b": 1})]
    assert order == ["c0", "b0", "a0", "b1", "a1", "b2", "a2"]


def test_tasks_already_on_the_stream_go_first_in_stream_order():
    on_stream = [Waiting("x", "a", 0.0, 9.0), Waiting("y", "b", 1.0, 5.0)]
    order = [w.task_id for w in start_order(on_stream + _queue("c", 1), turns={})]
    assert order == ["y", "x", "c0"]


def test_a_retry_waiting_out_its_backoff_is_not_on_the_stream():
    retry = Waiting("r", "a", available_at=20.0, enqueued_at=10.0)
    assert not retry.dispatched
    assert Waiting("d", "a", available_at=10.0, enqueued_at=10.5).dispatched


def test_fifo_keeps_submit_order():
    waiting = _queue("a", 2) + _queue("b", 1, start=0.5)
    order = [w.task_id for w in start_order(waiting, turns={"a": 9}, order="fifo")]
    assert order == ["a0", "b0", "a1"]
