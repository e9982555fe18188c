"""Benchmark: the staff console's duty board at county scale (issue 12's figures).

    .venv/bin/python bench/console_pages.py [--tickets 1000000] [--requests 300] [--no-lighthouse]

Starts the whole system on PostgreSQL and fills it to 500 centers and 1M tickets
(bench/scale.py), signs the cadre on duty in as a browser does, then prints:

- the board page's server time (its ``Server-Timing``: the view gathering the board, the
  categories and the unread count, and rendering) p50/p99 over ``--requests`` loads, and
  the time a client waits for it;
- the bytes a browser transfers for a first visit (empty cache) and a repeat visit of the
  board, from Chromium's own network log (headless, Debian's chromium);
- Lighthouse scores (desktop preset) of the board and a ticket's page: npm ``lighthouse``
  with ``CHROME_PATH=/usr/bin/chromium``, the session cookie in ``--extra-headers``.

Targets: p99 ≤ 150 ms, first visit ≤ 300 KB, accessibility ≥ 95, best practices ≥ 95.
It measures and prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale import ScaleSystem  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1]


def server_times(system: ScaleSystem, session, path: str, count: int) -> tuple[list, list]:
    app, waited = [], []
    for i in range(count + 20):
        began = time.perf_counter()
        answer = session.get(system.url(path), timeout=30)
        elapsed = (time.perf_counter() - began) * 1000
        answer.raise_for_status()
        timing = re.search(r"app;dur=([\d.]+)", answer.headers.get("Server-Timing", ""))
        if i >= 20 and timing:  # warm-up excluded
            app.append(float(timing.group(1)))
            waited.append(elapsed)
    return app, waited


def transferred(system: ScaleSystem, cookie: str, path: str) -> tuple[int, int, int]:
    """Bytes over the wire for a first and a repeat visit (and the first visit's requests)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_cookies([{"name": "lx_access", "value": cookie, "url": system.base}])
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        seen: list[int] = []
        cdp.on("Network.loadingFinished", lambda e: seen.append(int(e["encodedDataLength"])))
        page.goto(system.url(path), wait_until="networkidle")
        first, requests_made = sum(seen), len(seen)
        seen.clear()
        page.goto(system.url(path), wait_until="networkidle")
        page.wait_for_timeout(500)
        repeat = sum(seen)
        browser.close()
    return first, repeat, requests_made


def lighthouse(system: ScaleSystem, cookie: str, path: str) -> dict[str, float]:
    out = Path(tempfile.mkdtemp()) / "report.json"
    command = [
        str(ROOT / "node_modules/.bin/lighthouse"),
        system.url(path),
        "--preset=desktop",
        "--only-categories=performance,accessibility,best-practices",
        "--output=json",
        f"--output-path={out}",
        "--quiet",
        f"--chrome-flags={' '.join(FLAGS)}",
        f"--extra-headers={json.dumps({'Cookie': f'lx_access={cookie}'})}",
    ]
    subprocess.run(
        command, check=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, capture_output=True
    )
    report = json.loads(out.read_text())
    failing = [
        audit["title"]
        for audit in report["audits"].values()
        if audit.get("score") is not None
        and audit["score"] < 1
        and audit.get("scoreDisplayMode") == "binary"
    ]
    scores = {k: round(v["score"] * 100) for k, v in report["categories"].items()}
    scores["failing"] = failing  # type: ignore[assignment]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--centers", type=int, default=500)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--no-lighthouse", action="store_true")
    args = parser.parse_args()
    with ScaleSystem(centers=args.centers, tickets=args.tickets) as system:
        cadre = system.sign_in("staff-duty-1")
        cookie = cadre.cookies["lx_access"]
        board = cadre.get(system.url("/console/board/rows"), timeout=30).text
        open_rows = len(re.findall(r"data-ticket-id=", board))
        ticket = re.search(r'data-ticket-id="([^"]+)"', board).group(1)
        app, waited = server_times(system, cadre, "/console/board", args.requests)
        print(
            f"board page (/console/board, {open_rows} rows shown), {len(app)} loads:\n"
            f"  server time  p50 {statistics.median(app):6.1f} ms   p99 {pct(app, 99):6.1f} ms\n"
            f"  client wait  p50 {statistics.median(waited):6.1f} ms   p99 {pct(waited, 99):6.1f} ms",
            flush=True,
        )
        app, _ = server_times(system, cadre, f"/console/tickets/{ticket}", args.requests // 3)
        print(
            f"ticket page: server time p50 {statistics.median(app):.1f} ms  p99 {pct(app, 99):.1f} ms"
        )
        app, _ = server_times(system, cadre, "/console/board/rows", args.requests // 3)
        print(
            f"board rows (the 1.5 s refresh): server time p50 {statistics.median(app):.1f} ms  "
            f"p99 {pct(app, 99):.1f} ms"
        )
        first, repeat, made = transferred(system, cookie, "/console/board")
        print(
            f"board bytes: first visit {first / 1024:.1f} KB ({made} requests), "
            f"repeat visit {repeat / 1024:.1f} KB",
            flush=True,
        )
        if not args.no_lighthouse:
            for name, path in (
                ("board", "/console/board"),
                ("ticket", f"/console/tickets/{ticket}"),
            ):
                cookie = system.sign_in("staff-duty-2").cookies["lx_access"]
                scores = lighthouse(system, cookie, path)
                failing = scores.pop("failing")
                print(f"lighthouse {name}: {scores}" + (f"  failing: {failing}" if failing else ""))


if __name__ == "__main__":
    main()
