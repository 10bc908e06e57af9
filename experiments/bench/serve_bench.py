#!/usr/bin/env python3
"""`ranker serve` throughput and latency: requests/s, p50 and p99 at several client concurrencies, with dynamic
batching (the defaults: --max-batch-pairs 64 --max-wait-ms 5) against no batching (--max-batch-pairs 1
--max-wait-ms 0). A benchmark, not a test.

Run from anywhere (it finds the repository from its own path), after experiments/quickstart.sh (which builds the
release binaries, makes data/quickstart/ and trains runs/quickstart/):

    python3 experiments/bench/serve_bench.py
    python3 experiments/bench/serve_bench.py --ranker target/debug/ranker --requests 20 --rounds 3

Each request is POST /rank with one item of data/quickstart/test.jsonl and its first --candidates candidates
(4: 12 comparisons per request). Each client keeps one HTTP/1.1 connection and sends its requests one after
another. The two configurations alternate round by round (each round starts a fresh server), so that load from
other processes on a shared machine hits both alike; the table reports the median and the best requests/s and
the median p50 / p99 over the rounds. Python's standard library only.
"""

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIGS = {
    "batched": ["--max-batch-pairs", "64", "--max-wait-ms", "5"],
    "max-batch-pairs 1": ["--max-batch-pairs", "1", "--max-wait-ms", "0"],
}


def processor():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} logical CPUs"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs"


def start_server(ranker, model, extra):
    proc = subprocess.Popen([str(ranker), "-q", "serve", "--model", str(model), "--port", "0", *extra],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening on http://"):
        proc.kill()
        raise SystemExit(f"ranker serve did not start: {line!r}")
    host, port = line.strip().removeprefix("listening on http://").rsplit(":", 1)
    return proc, host, int(port)


def client(host, port, bodies, latencies, errors):
    conn = http.client.HTTPConnection(host, port, timeout=120)
    for body in bodies:
        started = time.perf_counter()
        conn.request("POST", "/rank", body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        latencies.append(time.perf_counter() - started)
        if resp.status != 200:
            errors.append(f"{resp.status}: {data[:200]!r}")
    conn.close()


def run_load(host, port, items, concurrency, requests):
    latencies, errors, threads = [], [], []
    for c in range(concurrency):
        bodies = [json.dumps(items[(c * requests + r) % len(items)]) for r in range(requests)]
        threads.append(threading.Thread(target=client, args=(host, port, bodies, latencies, errors)))
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, e.g. {errors[0]}")
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    return len(latencies) / elapsed, pick(0.50), pick(0.99)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ranker", type=Path, default=REPO / "target" / "release" / "ranker")
    parser.add_argument("--model", type=Path, default=REPO / "runs" / "quickstart" / "checkpoints" / "best")
    parser.add_argument("--data", type=Path, default=REPO / "data" / "quickstart" / "test.jsonl")
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--requests", type=int, default=30, help="requests per client")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for path, hint in [(args.ranker, "cargo build --release -p ranker-cli (or pass --ranker)"),
                       (args.model, "experiments/quickstart.sh trains it (or pass --model)"),
                       (args.data, "experiments/quickstart.sh makes it (or pass --data)")]:
        if not path.exists():
            raise SystemExit(f"{path} does not exist: {hint}")
    items = []
    for line in args.data.read_text().splitlines():
        item = json.loads(line)
        candidates = [c["text"] if isinstance(c, dict) else c for c in item["candidates"]][: args.candidates]
        items.append({"instruction": item.get("instruction", ""), "input": item["input"], "candidates": candidates})
    levels = [int(c) for c in args.concurrency.split(",")]
    results = {(name, c): [] for name in CONFIGS for c in levels}
    for r in range(args.rounds):
        for name, extra in CONFIGS.items():
            proc, host, port = start_server(args.ranker, args.model, extra)
            try:
                run_load(host, port, items, 1, 3)  # warm-up
                for c in levels:
                    results[(name, c)].append(run_load(host, port, items, c, args.requests))
                    rps, p50, p99 = results[(name, c)][-1]
                    print(f"round {r + 1} {name:>17} c={c:<3} {rps:8.1f} req/s  p50 {p50 * 1e3:7.1f} ms  "
                          f"p99 {p99 * 1e3:7.1f} ms", flush=True)
            finally:
                proc.terminate()
                proc.wait()
    print(f"\n{processor()}; {args.ranker.relative_to(REPO) if args.ranker.is_relative_to(REPO) else args.ranker}; "
          f"{args.candidates} candidates ({args.candidates * (args.candidates - 1)} comparisons) per request; "
          f"{args.requests} requests per client; {args.rounds} rounds: median and best requests/s, median latencies\n")
    print("| concurrency | config | requests/s (median) | requests/s (best) | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for c in levels:
        for name in CONFIGS:
            runs = results[(name, c)]
            print(f"| {c} | {name} | {statistics.median(x[0] for x in runs):.1f} | {max(x[0] for x in runs):.1f} | "
                  f"{statistics.median(x[1] for x in runs) * 1e3:.1f} | "
                  f"{statistics.median(x[2] for x in runs) * 1e3:.1f} |")


if __name__ == "__main__":
    main()
