"""Benchmark: the residents' phone pages (issue 13's figures) on a mobile profile.

    .venv/bin/python bench/phone_pages.py [--base http://127.0.0.1:8000] [--runs 1]

Starts the system as ``make run`` does (``lianxin run --seed``: all services and the
gateway, the demo center loaded) on a scratch RabbitMQ vhost and scratch SQLite files —
or measures a system already running at ``--base`` — reports one issue through the public
intake to have a follow page, then prints for the center's home, the report form and the
follow page:

- the bytes a browser transfers for a first visit (empty cache) and a repeat visit, and the
  number of requests, from Chromium's own network log (headless Debian chromium, a phone
  profile of 360 × 640);
- Lighthouse scores on its default mobile profile (a mid-range phone, throttled 4G): npm
  ``lighthouse`` with ``CHROME_PATH=/usr/bin/chromium``; the median of ``--runs`` runs.

Targets: first visit ≤ 150 KB before photos; performance ≥ 90, accessibility ≥ 95,
best practices ≥ 95. It measures and prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CENTER = "yanminghu"
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
MANAGEMENT = "http://guest:guest@127.0.0.1:15672/api"


class RunningSystem:
    """``lianxin run --seed`` on a scratch vhost and var directory, as ``make run`` starts it."""

    def __init__(self) -> None:
        from lianxin.testing import free_port

        self.vhost = "bench_phone_" + "".join(random.choices(string.ascii_lowercase, k=6))
        self.var = Path(tempfile.mkdtemp(prefix="lianxin-phone-"))
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "LIANXIN_JWKS_FILE"},
            "LIANXIN_VAR_DIR": str(self.var),
            "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5672/{self.vhost}",
            "GATEWAY_ADDRESS": f"127.0.0.1:{port}",
        }
        for name in ("ACCOUNTS", "TICKETS", "VOLUNTEERS", "EVENTS", "NOTIFY", "REPORTS", "GATEWAY"):
            self.env[f"{name}_METRICS_PORT"] = str(free_port())
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> RunningSystem:
        requests.put(f"{MANAGEMENT}/vhosts/{self.vhost}", timeout=10).raise_for_status()
        requests.put(
            f"{MANAGEMENT}/permissions/{self.vhost}/guest",
            json={"configure": ".*", "write": ".*", "read": ".*"},
            timeout=10,
        ).raise_for_status()
        log = self.var / "system.log"
        bin_dir = Path(sys.executable).parent
        subprocess.run([str(bin_dir / "lianxin"), "migrate"], cwd=ROOT, env=self.env, check=True)
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [str(bin_dir / "lianxin"), "run", "--seed"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if f"演示中心 {CENTER}" in log.read_text(errors="replace"):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        self.__exit__()
        raise SystemExit(f"the system did not come up:\n{log.read_text(errors='replace')[-3000:]}")

    def __exit__(self, *_exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        requests.delete(f"{MANAGEMENT}/vhosts/{self.vhost}", timeout=10)


def follow_path(base: str) -> str:
    """A follow page: one issue reported through the public intake (as a resident's phone)."""
    answer = requests.post(
        f"{base}/api/v1/public/tickets",
        json={
            "center_id": CENTER,
            "category": "sanitation",
            "description": "基准测试：东村社区3号楼垃圾桶满了，没有清运",
            "address": "东村社区3号楼",
        },
        headers={"Idempotency-Key": "bench-phone-" + str(time.time())},
        timeout=10,
    )
    answer.raise_for_status()
    receipt = answer.json()
    return f"/m/{CENTER}/follow/{receipt['id']}?code={receipt['follow_code']}"


def transferred(base: str, path: str) -> tuple[int, int, int]:
    """Bytes over the wire for a first and a repeat visit, and the first visit's requests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        device = {k: v for k, v in p.devices["Pixel 5"].items() if k != "default_browser_type"}
        context = browser.new_context(**{**device, "viewport": {"width": 360, "height": 640}})
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        seen: list[int] = []
        cdp.on("Network.loadingFinished", lambda e: seen.append(int(e["encodedDataLength"])))
        page.goto(base + path, wait_until="networkidle")
        first, made = sum(seen), len(seen)
        seen.clear()
        page.goto(base + path, wait_until="networkidle")
        page.wait_for_timeout(300)
        repeat = sum(seen)
        browser.close()
    return first, repeat, made


def lighthouse(base: str, path: str) -> dict:
    out = Path(tempfile.mkdtemp()) / "report.json"
    command = [
        str(ROOT / "node_modules/.bin/lighthouse"),
        base + path,
        "--only-categories=performance,accessibility,best-practices",
        "--output=json",
        f"--output-path={out}",
        "--quiet",
        f"--chrome-flags={' '.join(FLAGS)}",
    ]
    subprocess.run(
        command, check=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, capture_output=True
    )
    report = json.loads(out.read_text())
    scores: dict = {k: round(v["score"] * 100) for k, v in report["categories"].items()}
    scores["failing"] = [
        audit["title"]
        for audit in report["audits"].values()
        if audit.get("score") is not None
        and audit["score"] < 0.9
        and audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")
    ]
    scores["lcp_ms"] = round(report["audits"]["largest-contentful-paint"]["numericValue"])
    return scores


def measure(base: str, runs: int) -> None:
    pages = {
        "home": f"/m/{CENTER}/",
        "report": f"/m/{CENTER}/report",
        "follow": follow_path(base),
    }
    for name, path in pages.items():
        first, repeat, made = transferred(base, path)
        print(
            f"{name:7s} first visit {first / 1024:6.1f} KB in {made} requests, "
            f"repeat visit {repeat / 1024:5.1f} KB"
        )
    for name, path in pages.items():
        results = [lighthouse(base, path) for _ in range(runs)]
        median = {
            key: statistics.median(r[key] for r in results)
            for key in ("performance", "accessibility", "best-practices", "lcp_ms")
        }
        failing = sorted({title for r in results for title in r["failing"]})
        print(
            f"lighthouse {name:7s} performance {median['performance']:.0f}  accessibility "
            f"{median['accessibility']:.0f}  best practices {median['best-practices']:.0f}  "
            f"LCP {median['lcp_ms']:.0f} ms" + (f"  below 0.9: {failing}" if failing else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="a running system (default: start one as make run does)")
    parser.add_argument("--runs", type=int, default=1, help="Lighthouse runs per page")
    args = parser.parse_args()
    if args.base:
        measure(args.base.rstrip("/"), args.runs)
        return
    with RunningSystem() as system:
        measure(system.base, args.runs)


if __name__ == "__main__":
    main()
