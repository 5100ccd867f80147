"""Drive wrk (a C load generator) with velaux.lua and read what the script prints.

wrk runs a closed loop over keep-alive HTTP/1.1 connections (no pipelining) from a
few threads, for a fixed time; the Lua script picks each request's body and counts
the statuses. Its CPU use is small and much the same for both endpoints, so the
comparison of /collecting with /healthz measures the server. Only loopback
addresses are accepted.
"""

import ipaddress
import math
import os
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).with_name("velaux.lua")


@dataclass
class PhaseResult:
    statuses: Counter = field(default_factory=Counter)
    latency_ms: dict[float, float] = field(default_factory=dict)  # percentile -> ms
    duration: float = 0.0  # seconds wrk measured
    requests: int = 0
    connect_errors: int = 0
    read_errors: int = 0  # includes connections the server closed mid-request
    write_errors: int = 0
    timeouts: int = 0
    server_closes: int = 0  # responses that said "Connection: close"
    on_the_fly: int = 0  # bodies re-sent with a fresh platformID once the file ran out
    client_cpu_seconds: float = 0.0  # wrk's user + system time, start-up included

    histogram: Counter = field(default_factory=Counter)  # latency in us -> requests

    def percentile(self, fraction: float) -> float:
        return self.latency_ms.get(round(fraction * 100, 1), float("nan"))

    @classmethod
    def merged(cls, results: "list[PhaseResult]") -> "PhaseResult":
        """Several windows as one: counts and durations added, percentiles of all latencies."""
        total = cls()
        for result in results:
            total.statuses.update(result.statuses)
            total.histogram.update(result.histogram)
            total.duration += result.duration
            total.client_cpu_seconds += result.client_cpu_seconds
            for name in COUNTS:
                setattr(total, name, getattr(total, name) + getattr(result, name))
        total.latency_ms = {
            p: histogram_percentile(total.histogram, p) / 1000.0 for p in PERCENTILES
        }
        return total


WRK_COUNTS = (  # the RESULT line's counts besides the duration and the requests
    "connect_errors", "read_errors", "write_errors", "timeouts", "server_closes", "on_the_fly",
)  # fmt: skip
COUNTS = ("requests", *WRK_COUNTS)
PERCENTILES = (50.0, 90.0, 99.0, 99.9)  # what velaux.lua prints


def histogram_percentile(histogram: Counter, percentile: float) -> float:
    """wrk's own definition (stats_percentile): the least value whose cumulative count
    reaches C's round(p/100 x count + 0.5), that is floor(p/100 x count + 1)."""
    count = sum(histogram.values())
    if not count:
        return float("nan")
    rank = math.floor(percentile / 100.0 * count + 1.0)
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return float(value)
    return float(max(histogram))


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: run `make bench-tools` (Debian package wrk).")
    return path


def run_wrk(
    host: str,
    port: int,
    path: str,
    *,
    seconds: float,
    threads: int,
    connections: int,
    bodies_file: Path | None = None,
) -> PhaseResult:
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"refusing to send load to {host}: loopback addresses only")
    command = [
        wrk_path(), f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
        "-s", str(SCRIPT), f"http://{host}:{port}", "--", path,
    ]  # fmt: skip
    if bodies_file is not None:
        command += [str(bodies_file), str(threads)]
    # wait4 rather than communicate(): it also returns wrk's CPU time (its output is small).
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"wrk failed ({process.returncode}): {output[-2000:]}")
    result = parse_output(output)
    result.client_cpu_seconds = usage.ru_utime + usage.ru_stime
    return result


def parse_output(text: str) -> PhaseResult:
    result = PhaseResult()
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "RESULT":
            values = dict(item.split("=") for item in rest.split())
            result.duration = int(values["duration_us"]) / 1e6
            result.requests = int(values["requests"])
            for name in WRK_COUNTS:
                setattr(result, name, int(values[name]))
        elif kind == "STATUS":
            status, count = rest.split()
            result.statuses[int(status)] += int(count)
        elif kind == "HIST":
            micros, count = rest.split()
            result.histogram[int(micros)] += int(count)
        elif kind == "LATENCY":
            percentile, micros = rest.split()
            result.latency_ms[float(percentile)] = int(micros) / 1000.0
    if not result.duration:
        raise RuntimeError(f"wrk printed no RESULT line:\n{text[-2000:]}")
    return result
