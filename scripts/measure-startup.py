#!/usr/bin/env python3
"""Cold start and idle memory of `hilo serve` on SQLite.

For each run: start the binary on a database file that does not exist yet (first start: create
the file, run the migrations, seed the demo) and again on the same file (restart), time from
spawn to the first 200 of GET /healthz, then read the idle resident set size after a short
settle. Prints the median and range of each figure.

    cargo build --release && scripts/measure-startup.py [--bin target/release/hilo] [--runs 20]
"""

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_ok(port, deadline):
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return True
        except OSError:
            time.sleep(0.0005)
    return False


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def one_start(binary, db_path, settle):
    port = free_port()
    started = time.monotonic()
    proc = subprocess.Popen(
        [binary, "serve", "--listen", f"127.0.0.1:{port}", "--database", f"sqlite://{db_path}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if not first_ok(port, started + 30):
            raise RuntimeError("no 200 from /healthz within 30 s")
        ready_ms = (time.monotonic() - started) * 1000
        time.sleep(settle)
        return ready_ms, rss_kib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def summary(name, values, unit):
    print(
        f"{name}: median {statistics.median(values):.1f} {unit} "
        f"(min {min(values):.1f}, max {max(values):.1f}, n={len(values)})"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default="target/release/hilo")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--settle", type=float, default=1.0, help="seconds idle before reading RSS")
    args = parser.parse_args()

    first, restart, first_rss, restart_rss = [], [], [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as work:
            db_path = os.path.join(work, "hilo.db")
            ms, kib = one_start(args.bin, db_path, args.settle)
            first.append(ms)
            first_rss.append(kib / 1024)
            ms, kib = one_start(args.bin, db_path, args.settle)
            restart.append(ms)
            restart_rss.append(kib / 1024)

    summary("first start (new SQLite file) to first 200", first, "ms")
    summary("restart (existing file) to first 200", restart, "ms")
    summary("idle RSS after first start", first_rss, "MiB")
    summary("idle RSS after restart", restart_rss, "MiB")


if __name__ == "__main__":
    main()
