"""Benchmark: the whole system at county scale over HTTP (issue 16 item 4).

    .venv/bin/python bench/county_scale.py [--tickets 1000000] [--small 10000]
        [--volunteers 50000] [--registrations 200000] [--requests 200] [--rounds 2]

Starts every service as its own process on PostgreSQL (bench/scale.py, ``separate=True``),
first filled to ``--small`` tickets over 500 centers (the staff board only: the 10k figure the
1M one is held to), then to ``--tickets``, ``--volunteers`` and ``--registrations``, and
prints, each over ``--rounds`` rounds, with bearer tokens signed by the issuer's key:

- the staff board API (``GET /api/v1/board``) p50/p99, a cadre of a random center each request;
- one center's statistics p50/p99: ``/api/v1/satisfaction``, ``/api/v1/tickets/stats`` (last
  month), ``/api/v1/volunteers/stats`` (the last year), ``/api/v1/attendance/stats``;
- the county overview ``GET /api/v1/reports/county/<last month>``, as ops (every center) and as
  a department granted all the centers by name;
- each service's ``/metrics``: bytes (plain and gzip) and time of a scrape, p50/p99;
- each service's memory: RSS now and its peak (``VmHWM``), after all of the above.

Targets: board p99 ≤ 20 ms and ≤ 2x the 10k figure; a center's statistics p99 ≤ 100 ms; the
county overview p99 ≤ 500 ms; ``/metrics`` ≤ 1 MB and ≤ 200 ms; RSS ≤ 250 MB a service.
It measures and prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale import DEMO, ScaleSystem  # noqa: E402


def pct(values: list[float], p: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def centers(count: int) -> list[str]:
    return [DEMO, *(f"c{n:03d}" for n in range(1, count))]


def timed_get(session: requests.Session, url: str, token: str, timeout: float = 30) -> float:
    began = time.perf_counter()
    answer = session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
    elapsed = (time.perf_counter() - began) * 1000
    if answer.status_code != 200:
        raise SystemExit(f"GET {url}: {answer.status_code} {answer.text[:300]}")
    return elapsed


def line(name: str, times: list[float], extra: str = "") -> str:
    return (
        f"  {name:<34} p50 {statistics.median(times):8.1f} ms   p99 {pct(times, 99):8.1f} ms"
        f"   ({len(times)} requests){extra}"
    )


def staff_tokens(system: ScaleSystem, count: int, role: str = "staff") -> dict[str, str]:
    return {
        c: system.mint(
            sub="staff-duty-1" if role == "staff" else "staff-admin-1", role=role, centers=[c]
        )
        for c in centers(count)
    }


def board(system: ScaleSystem, tokens: dict[str, str], count: int) -> list[float]:
    session = requests.Session()
    chosen = random.Random(16)
    names = list(tokens)
    for c in names[:20]:  # warm-up: connections, every center's cache entry
        timed_get(session, system.url("/api/v1/board"), tokens[c])
    return [
        timed_get(session, system.url("/api/v1/board"), tokens[chosen.choice(names)])
        for _ in range(count)
    ]


def last_month() -> tuple[str, date, date]:
    first = date.today().replace(day=1)
    end = first - timedelta(days=1)
    return end.strftime("%Y-%m"), end.replace(day=1), end


def center_stats(system: ScaleSystem, tokens: dict[str, str], count: int) -> dict[str, list]:
    month, start, end = last_month()
    year_ago = date.today() - timedelta(days=365)
    paths = {
        "satisfaction": "/api/v1/satisfaction",
        "tickets/stats (last month)": f"/api/v1/tickets/stats?from={start}&to={end}",
        "volunteers/stats (last year)": f"/api/v1/volunteers/stats?from={year_ago}&to={date.today()}",
        "attendance/stats": "/api/v1/attendance/stats",
    }
    session = requests.Session()
    chosen = random.Random(17)
    names = list(tokens)
    out: dict[str, list] = {}
    for name, path in paths.items():
        for c in names[:5]:
            timed_get(session, system.url(path), tokens[c])
        out[name] = [
            timed_get(session, system.url(path), tokens[chosen.choice(names)]) for _ in range(count)
        ]
    return out


def county(system: ScaleSystem, token: str, count: int) -> list[float]:
    month = last_month()[0]
    session = requests.Session()
    return [
        timed_get(session, system.url(f"/api/v1/reports/county/{month}"), token, timeout=300)
        for _ in range(count)
    ]


def metrics(system: ScaleSystem, count: int) -> dict[str, tuple]:
    out = {}
    for name, port in system.metrics_ports().items():
        url = f"http://127.0.0.1:{port}/metrics"
        session = requests.Session()
        plain, zipped, size, wire = [], [], 0, 0
        try:
            session.get(url, timeout=10)
        except requests.RequestException as exc:
            out[name] = (f"no answer: {exc}",)
            continue
        for _ in range(count):
            began = time.perf_counter()
            answer = session.get(url, headers={"Accept-Encoding": "identity"}, timeout=10)
            plain.append((time.perf_counter() - began) * 1000)
            size = len(answer.content)
            began = time.perf_counter()
            answer = session.get(url, headers={"Accept-Encoding": "gzip"}, timeout=10, stream=True)
            raw = answer.raw.read()
            zipped.append((time.perf_counter() - began) * 1000)
            wire = len(raw)
            if answer.headers.get("Content-Encoding") != "gzip":
                wire = len(gzip.compress(raw, 1))
        series = sum(
            1 for x in answer_text(session, url).splitlines() if x and not x.startswith("#")
        )
        out[name] = (size, wire, series, plain, zipped)
    return out


def answer_text(session: requests.Session, url: str) -> str:
    return session.get(url, timeout=10).text


def memory(system: ScaleSystem) -> dict[str, tuple[float, float]]:
    out = {}
    for name, pid in system.pids().items():
        fields = {}
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = row.partition(":")
            fields[key] = value.strip()
        out[name] = (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)
    return out


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure_small(args: argparse.Namespace) -> list[list[float]]:
    print(f"== {args.small:,} tickets over {args.centers} centers (the board's base line)")
    with ScaleSystem(centers=args.centers, tickets=args.small, separate=True) as system:
        tokens = staff_tokens(system, args.centers)
        runs = []
        for r in range(args.rounds):
            times = board(system, tokens, args.requests)
            runs.append(times)
            print(line(f"board, round {r + 1}", times, f"  load {loadavg()}"), flush=True)
    return runs


def measure_large(args: argparse.Namespace, small: list[list[float]]) -> None:
    print(
        f"== {args.tickets:,} tickets, {args.volunteers:,} volunteers, "
        f"{args.registrations:,} registrations over {args.centers} centers"
    )
    with ScaleSystem(
        centers=args.centers,
        tickets=args.tickets,
        volunteers=args.volunteers,
        registrations=args.registrations,
        separate=True,
    ) as system:
        tokens = staff_tokens(system, args.centers)
        admins = {
            c: system.mint(sub="staff-admin-1", role="admin", centers=[c])
            for c in list(tokens)[:50]
        }
        ops = system.mint(sub="bench-ops", role="ops", centers=["*"])
        department = system.mint(
            sub="bench-department", role="department", centers=centers(args.centers)
        )
        for r in range(args.rounds):
            print(f"-- round {r + 1}, load {loadavg()}", flush=True)
            times = board(system, tokens, args.requests)
            base = pct(small[min(r, len(small) - 1)], 99) if small else float("nan")
            print(line("board", times, f"   p99 ÷ 10k p99 {pct(times, 99) / base:.2f}"))
            for name, t in center_stats(system, admins, args.requests // 2).items():
                print(line(name, t), flush=True)
            for who, token in (("ops (every center)", ops), ("department (500 named)", department)):
                t = county(system, token, args.county_requests)
                print(line(f"county overview, {who}", t) + f"  max {max(t):.0f} ms", flush=True)
            print(f"  /metrics ({args.metrics} scrapes each):")
            for name, found in metrics(system, args.metrics).items():
                if len(found) == 1:
                    print(f"    {name:<11} {found[0]}")
                    continue
                size, wire, series, plain, zipped = found
                print(
                    f"    {name:<11} {size:>9,} bytes ({wire:,} gzip), {series:>6,} series   "
                    f"text p50 {statistics.median(plain):6.1f} / p99 {pct(plain, 99):6.1f} ms   "
                    f"gzip p50 {statistics.median(zipped):6.1f} / p99 {pct(zipped, 99):6.1f} ms"
                )
            print("  memory (RSS now / peak):")
            for name, (rss, peak) in memory(system).items():
                print(f"    {name:<11} {rss:6.1f} MB / {peak:6.1f} MB")
        print(f"load average at the end {loadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000, help="0: skip the 10k run")
    parser.add_argument("--centers", type=int, default=500)
    parser.add_argument("--volunteers", type=int, default=50_000)
    parser.add_argument("--registrations", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--county-requests", type=int, default=5)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M')} load average {loadavg()}")
    small = measure_small(args) if args.small else []
    measure_large(args, small)


if __name__ == "__main__":
    main()
