import asyncio
import threading

from saekdam_worker.context import ProgressUpdate
from saekdam_worker.progress import ProgressRelay


def update(progress: float) -> ProgressUpdate:
    return ProgressUpdate(progress, "run", None, None, None)


async def test_updates_from_a_thread_are_coalesced_to_the_newest_and_flushed_on_close():
    written: list[float] = []
    gate = asyncio.Event()

    async def slow_write(u: ProgressUpdate) -> None:
        await gate.wait()
        written.append(u.progress)

    relay = ProgressRelay(slow_write)
    thread = threading.Thread(target=lambda: [relay.submit(update(i / 10)) for i in range(1, 11)])
    thread.start()
    await asyncio.to_thread(thread.join)
    await asyncio.sleep(0.05)
    gate.set()
    await relay.close()
    # The write in flight when the updates arrived, then only the newest of the rest.
    assert written[-1] == 1.0
    assert len(written) <= 2
    assert written == sorted(written)
