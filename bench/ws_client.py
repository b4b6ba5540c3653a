"""The websocket bench's load generator: one process holding a share of the sockets.

A bare asyncio protocol instead of a websocket library: on 2 cores the clients share a core
with the API, and a library's task and buffers per socket would make the generator, not the
API, the bottleneck at 5,000 sockets. It does what a browser does and no more: the upgrade
with an `Authorization` header and a permessage-deflate offer, unmasked server frames
(inflated when the server compressed them), a pong for every ping, masked client frames.

Every frame the bench publishes carries its own send time in `stage`
(`bench <phase> <round> <perf_counter>`); perf_counter is CLOCK_MONOTONIC, one clock for all
processes on the machine, so each frame's latency is taken where it is received.
"""

import asyncio
import base64
import gc
import json
import os
import time
import zlib
from array import array
from urllib.parse import urlsplit

CONNECT_CONCURRENCY = 32
DEFLATE_TAIL = b"\x00\x00\xff\xff"
OP_CONTINUATION, OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x8, 0x9, 0xA


def _masked(opcode: int, payload: bytes = b"") -> bytes:
    """A client frame: FIN, `opcode`, masked as RFC 6455 requires (payloads here < 126 B)."""
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + key + body


class Recorder:
    """Latencies per phase of every bench frame this process receives."""

    def __init__(self) -> None:
        self.latencies: dict[str, array] = {}
        self.rounds: dict[str, array] = {}
        self.out_of_order = 0

    def record(self, stage: str, seen: float) -> None:
        _, phase, round_, sent = stage.split(" ")
        if phase not in self.latencies:
            self.latencies[phase], self.rounds[phase] = array("d"), array("i")
        self.latencies[phase].append((seen - float(sent)) * 1000)
        self.rounds[phase].append(int(round_))

    def count(self, phase: str) -> int:
        return len(self.latencies.get(phase, ()))


class TaskSocket(asyncio.Protocol):
    def __init__(self, host: str, path: str, token: str, recorder: Recorder):
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
        self.recorder = recorder
        self.buffer = bytearray()
        self.upgraded = False
        self.inflate = None
        self.fragments: list[bytes] = []
        self.compressed = False
        self.snapshot: asyncio.Future = asyncio.get_running_loop().create_future()
        self.last_seq = -1
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        if not self.snapshot.done():
            self.snapshot.set_exception(ConnectionError(f"closed before the snapshot: {exc}"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded and not self._upgrade():
            return
        self._frames()

    def _upgrade(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buffer[:end]).decode("latin-1").lower()
        del self.buffer[: end + 4]
        if not head.startswith("http/1.1 101"):
            self.snapshot.set_exception(ConnectionError(head.split("\r\n", 1)[0]))
            self.transport.close()
            return False
        if "sec-websocket-extensions: permessage-deflate" in head:
            self.inflate = zlib.decompressobj(wbits=-15)
        self.upgraded = True
        return True

    def _frames(self) -> None:
        buffer = self.buffer
        while len(buffer) >= 2:
            first, length = buffer[0], buffer[1] & 0x7F
            start = 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, start = int.from_bytes(buffer[2:4]), 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, start = int.from_bytes(buffer[2:10]), 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            self._frame(first, payload)

    def _frame(self, first: int, payload: bytes) -> None:
        opcode = first & 0x0F
        if opcode == OP_PING:
            self.transport.write(_masked(OP_PONG, payload))
            return
        if opcode == OP_CLOSE:
            if not self.snapshot.done():
                code = int.from_bytes(payload[:2]) if len(payload) >= 2 else None
                reason = payload[2:].decode(errors="replace")
                self.snapshot.set_exception(ConnectionError(f"closed {code} {reason!r}"))
            self.transport.close()
            return
        if opcode not in (OP_TEXT, OP_CONTINUATION):
            return
        if opcode == OP_TEXT:
            self.compressed = bool(first & 0x40)
        self.fragments.append(payload)
        if not first & 0x80:
            return
        message, self.fragments = b"".join(self.fragments), []
        if self.compressed:
            message = self.inflate.decompress(message + DEFLATE_TAIL)
        self._message(message)

    def _message(self, message: bytes) -> None:
        seen = time.perf_counter()
        frame = json.loads(message)
        seq = frame.get("seq")
        if not self.snapshot.done():
            self.snapshot.set_result(frame)
        elif seq is not None and seq <= self.last_seq:
            self.recorder.out_of_order += 1
        if seq is not None:
            self.last_seq = max(self.last_seq, seq)
        stage = frame.get("stage")
        if stage and stage.startswith("bench "):
            self.recorder.record(stage, seen)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_masked(OP_CLOSE, (1000).to_bytes(2)))
            self.transport.close()


async def open_sockets(
    base_url: str, token: str, task_ids: list[str], recorder: Recorder
) -> tuple[list[TaskSocket], dict[str, int], list[str]]:
    """One socket per entry of `task_ids`, each past its snapshot; the highest snapshot seq
    per task, and why the sockets that did not get that far failed (the bench counts them
    as refused instead of stopping)."""
    url = urlsplit(base_url)
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(CONNECT_CONCURRENCY)
    sockets: list[TaskSocket] = []
    seqs: dict[str, int] = {}
    refused: list[str] = []

    async def one(task_id: str) -> None:
        async with sem:
            path = f"/v1/tasks/{task_id}/events"
            try:
                _, sock = await loop.create_connection(
                    lambda: TaskSocket(url.netloc, path, token, recorder), url.hostname, url.port
                )
                snapshot = await asyncio.wait_for(sock.snapshot, 60)
            except (OSError, TimeoutError) as exc:
                refused.append(f"{type(exc).__name__}: {exc}")
                return
            if snapshot.get("type") != "snapshot":
                raise RuntimeError(f"first frame is not a snapshot: {snapshot}")
            sockets.append(sock)
            seqs[task_id] = max(seqs.get(task_id, -1), snapshot["seq"])

    await asyncio.gather(*(one(task_id) for task_id in task_ids))
    return sockets, seqs, refused


async def serve(conn, base_url: str, token: str, task_ids: list[str]) -> None:
    """Open the sockets, say so, then answer the parent's commands until `report`."""
    recorder = Recorder()
    began = time.perf_counter()
    sockets, seqs, refused = await open_sockets(base_url, token, task_ids, recorder)
    # Cyclic GC walking thousands of sockets stalls this loop; that would be counted as
    # delivery latency, and it is not the API's.
    gc.collect()
    gc.disable()
    connected = {"sockets": len(sockets), "refused": refused[:20], "refused_count": len(refused)}
    conn.send({"snapshot_seqs": seqs, "connect_s": time.perf_counter() - began, **connected})
    try:
        while True:
            # A thread waits on the pipe: the loop taking its fd would make it non-blocking,
            # and the final report is bigger than a pipe buffer.
            name, *args = await asyncio.to_thread(conn.recv)
            if name == "count":
                conn.send(recorder.count(args[0]))
            elif name == "report":
                closed = sum(1 for s in sockets if s.transport.is_closing())
                conn.send(
                    {
                        "latencies_ms": {k: v.tolist() for k, v in recorder.latencies.items()},
                        "rounds": {k: v.tolist() for k, v in recorder.rounds.items()},
                        "out_of_order": recorder.out_of_order,
                        "closed_early": closed,
                    }
                )
                return
    finally:
        for sock in sockets:
            sock.close()
        await asyncio.sleep(0.2)  # let the close frames go out


def process_main(conn, base_url: str, token: str, task_ids: list[str]) -> None:
    """Entry point of one client process (multiprocessing, spawn)."""
    try:
        import uvloop
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    try:
        runner(serve(conn, base_url, token, task_ids))
    except BaseException as exc:
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
        raise
