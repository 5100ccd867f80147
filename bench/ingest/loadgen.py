"""A small closed-loop HTTP/1.1 load generator: asyncio protocols, raw keep-alive sockets.

Each connection sends one pre-built request, reads the whole response (status
line, headers, Content-Length body), records the latency and sends the next:
no pipelining, no client library, so one process keeps thousands of requests a
second going for a few percent of a core. Only loopback addresses are accepted.
"""

import asyncio
import ipaddress
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

RequestSource = Callable[[], bytes]


@dataclass
class Window:
    """Monotonic times shared by every load process (CLOCK_MONOTONIC is system-wide)."""

    start: float
    measure_from: float
    measure_until: float


@dataclass
class PhaseResult:
    statuses: Counter = field(default_factory=Counter)  # within the measured window
    latencies_ms: list[float] = field(default_factory=list)  # within the measured window
    warmup_statuses: Counter = field(default_factory=Counter)
    drained_statuses: Counter = field(default_factory=Counter)  # finished after the window
    protocol_errors: int = 0
    dropped_connections: int = 0  # closed by the server with a request in flight
    server_closes: int = 0  # responses that said "Connection: close"
    connects: int = 0
    client_cpu_seconds: float = 0.0  # this process's CPU time during the measured window
    on_the_fly: int = 0  # request bodies made during the run once the pre-built ones ran out

    def merge(self, other: "PhaseResult") -> None:
        self.statuses.update(other.statuses)
        self.latencies_ms.extend(other.latencies_ms)
        self.warmup_statuses.update(other.warmup_statuses)
        self.drained_statuses.update(other.drained_statuses)
        self.protocol_errors += other.protocol_errors
        self.dropped_connections += other.dropped_connections
        self.server_closes += other.server_closes
        self.connects += other.connects
        self.client_cpu_seconds += other.client_cpu_seconds
        self.on_the_fly += other.on_the_fly


class ResponseError(Exception):
    pass


class Connection(asyncio.Protocol):
    """One keep-alive connection that runs requests back to back until the window ends."""

    def __init__(self, next_request: RequestSource, window: Window, result: PhaseResult):
        self.next_request = next_request
        self.window = window
        self.result = result
        self.buffer = bytearray()
        self.response_end: int | None = None
        self.status = 0
        self.close_after = False
        self.sent_at = 0.0
        self.in_flight = False
        self.transport: asyncio.Transport | None = None
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.send()

    def send(self) -> None:
        self.in_flight = True
        self.sent_at = time.monotonic()
        self.transport.write(self.next_request())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            if self.response_end is None and not self.parse_head():
                return
        except (ResponseError, ValueError):
            self.result.protocol_errors += 1
            self.transport.close()
            return
        if len(self.buffer) < self.response_end:
            return
        if len(self.buffer) > self.response_end:  # bytes we never asked for
            self.result.protocol_errors += 1
            self.transport.close()
            return
        self.buffer.clear()
        self.response_end = None
        self.in_flight = False
        self.record(time.monotonic())

    def parse_head(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > 65536:
                raise ResponseError("no end of headers")
            return False
        lines = bytes(self.buffer[:end]).split(b"\r\n")
        if not lines[0].startswith(b"HTTP/1.1 "):
            raise ResponseError(f"bad status line {lines[0]!r}")
        self.status = int(lines[0][9:12])
        length = None
        self.close_after = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                self.close_after = value.strip().lower() == b"close"
            elif name == b"transfer-encoding":
                raise ResponseError("chunked responses are not expected here")
        if length is None:
            raise ResponseError("no Content-Length")
        self.response_end = end + 4 + length
        return True

    def record(self, now: float) -> None:
        window, result = self.window, self.result
        if now < window.measure_from:
            result.warmup_statuses[self.status] += 1
        elif now < window.measure_until:
            result.statuses[self.status] += 1
            result.latencies_ms.append((now - self.sent_at) * 1000.0)
        else:
            result.drained_statuses[self.status] += 1
        if self.close_after:
            result.server_closes += 1
            self.transport.close()
        elif now < window.measure_until:
            self.send()
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.in_flight:
            self.result.dropped_connections += 1
        if not self.done.done():
            self.done.set_result(None)


async def run_connection(
    host: str, port: int, next_request: RequestSource, window: Window, result: PhaseResult
) -> None:
    loop = asyncio.get_running_loop()
    while time.monotonic() < window.measure_until:
        connection = Connection(next_request, window, result)
        try:
            await loop.create_connection(lambda c=connection: c, host, port)
        except OSError:
            result.dropped_connections += 1
            await asyncio.sleep(0.01)
            continue
        result.connects += 1
        await connection.done


async def run_phase(
    host: str, port: int, connections: int, next_request: RequestSource, window: Window
) -> PhaseResult:
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"refusing to send load to {host}: loopback addresses only")
    result = PhaseResult()
    await asyncio.sleep(max(0.0, window.start - time.monotonic()))
    tasks = [
        asyncio.create_task(run_connection(host, port, next_request, window, result))
        for _ in range(connections)
    ]
    await asyncio.sleep(max(0.0, window.measure_from - time.monotonic()))
    cpu_from = time.process_time()
    await asyncio.sleep(max(0.0, window.measure_until - time.monotonic()))
    result.client_cpu_seconds = time.process_time() - cpu_from
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    return result
