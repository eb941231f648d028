"""`sample serve` under load: N concurrent clients against the same N requests one after another.

Starts the real server on a free loopback port (`sample serve --model ...`), waits for /healthz, then
sends `--requests` POST /v1/expand requests (each its own seed word and rng_seed) first sequentially,
then from `--clients` threads at once, and prints requests/s, p50 and p99 latency of both and the
ratio: concurrent requests that arrive while a pass runs join the next batched pass. Bounded: every
request has a timeout, the whole run a deadline, and only 127.0.0.1 is used.
Usage: python bench/serve_load.py [--model runs/cpu-demo] [--clients 32] [--requests 32] [--steps 4]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

SEEDS = ["AI", "hacker", "Emma", "war", "program", "music", "letter", "river"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, body: dict, timeout: float) -> float:
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("POST", "/v1/expand", json.dumps(body), {"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {payload[:200]!r}")
    return time.perf_counter() - start


def healthy(port: int, server: subprocess.Popen, seconds: float) -> None:
    """Wait until the server answers /healthz with 200 (SystemExit when it does not within `seconds`)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit(f"the server did not come up within {seconds:g} s")
        time.sleep(0.5)


def summary(name: str, latencies: list[float], wall: float) -> dict:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    out = {"rps": len(ordered) / wall, "p50": statistics.median(ordered), "p99": p99, "wall": wall}
    print(f"| {name} | {len(ordered)} | {wall:.1f} | {out['rps']:.2f} | {out['p50']:.2f} | {p99:.2f} |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="runs/cpu-demo")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--requests", type=int, default=32)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds one request may take")
    args = ap.parse_args()
    port = free_port()
    sample = shutil.which("sample") or str(Path(sys.executable).parent / "sample")
    server = subprocess.Popen(
        [sample, "serve", "--model", args.model, "--port", str(port), "--timeout", str(args.timeout)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        healthy(port, server, 120)
        bodies = [{"seed": SEEDS[i % len(SEEDS)], "steps": args.steps, "rng_seed": i} for i in range(args.requests)]
        print(f"{args.model}, {args.requests} requests, steps {args.steps}, one sample each")
        print("| clients | requests | wall s | requests/s | p50 s | p99 s |")
        print("|---|---|---|---|---|---|")
        start = time.perf_counter()
        alone = [request(port, b, args.timeout) for b in bodies]
        one = summary("1 (one after another)", alone, time.perf_counter() - start)
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
            together = list(pool.map(lambda b: request(port, b, args.timeout), bodies))
        many = summary(str(args.clients), together, time.perf_counter() - start)
        print(f"concurrent / sequential: {many['rps'] / one['rps']:.2f}x requests/s")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
