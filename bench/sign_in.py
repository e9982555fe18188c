"""What signing in costs the gateway: the same read (``GET /api/v1/categories``) with an API
client's bearer token and with a browser's session cookie, in one run, on one system.

Both tokens come from a real sign-in (``POST /api/v1/auth/token`` and the ``/login`` form);
both are EdDSA tokens the gateway verifies with the issuer's public keys, then checks
against the revoked sessions. The ratio printed is cookie ÷ bearer throughput (≥ 0.95 is
"no more than"), and the cost of one verification, fresh and remembered, in-process.

    .venv/bin/python bench/sign_in.py --seconds 10
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import timeit
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

from bench.intake import create_vhost, free_port, start, wait_http  # noqa: E402

CENTER = "yanminghu"
PASSWORD = "Bench2026sign"
TARGETS = ("accounts", "tickets", "notify", "gateway")


def wrk_get(url: str, headers: dict[str, str], seconds: int, connections: int) -> dict:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for name, value in headers.items():
        args[1:1] = ["-H", f"{name}: {value}"]
    run = subprocess.run(args, capture_output=True, text=True, check=True)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", run.stdout)[1])
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", run.stdout)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99[2]]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", run.stdout)
    return {"rps": rps, "p99_ms": float(p99[1]) * scale, "non2xx": int(non2xx[1]) if non2xx else 0}


def verification_cost() -> dict[str, float]:
    """µs per verification: a token seen the first time (signature checked) and again."""
    from lianxin import auth
    from lianxin.keys import Keys, new_key

    key = new_key()
    verifier = auth.Verifier(Keys(lambda: {"keys": [key.public_jwk()]}))
    tokens = [auth.issue(key, sub=f"p{n}", role="staff", centers=[CENTER]) for n in range(2000)]
    fresh = iter(tokens)
    first = timeit.timeit(lambda: verifier.decode(next(fresh)), number=len(tokens))
    again = timeit.timeit(lambda: verifier.decode(tokens[0]), number=20000)
    # What the gateway did before (an HS256 token with a shared secret), for comparison.
    import jwt

    secret = "s" * 48
    claims = {"sub": "p", "role": "staff", "centers": [CENTER], "exp": int(time.time()) + 600}
    old = jwt.encode(claims, secret, algorithm="HS256")
    hs256 = timeit.timeit(lambda: jwt.decode(old, secret, algorithms=["HS256"]), number=2000)
    return {
        "fresh_us": first / len(tokens) * 1e6,
        "remembered_us": again / 20000 * 1e6,
        "hs256_us": hs256 / 2000 * 1e6,
    }


def failure_timing(base: str) -> dict[str, tuple[float, float]]:
    """How long a wrong password takes for an account that exists and for one nobody has
    (each from its own client, four per account name: below the lockout)."""
    import statistics

    def timed(account: str, n: int) -> float:
        started = time.perf_counter()
        answer = requests.post(
            f"{base}/api/v1/auth/token",
            json={"center": CENTER, "account": account, "password": "Wrong-2026-pw"},
            headers={"X-Forwarded-For": f"10.9.{n // 250}.{n % 250}"},
            timeout=10,
        )
        assert answer.status_code == 401, answer.text
        return (time.perf_counter() - started) * 1000

    known, unknown = [], []
    for n in range(40):  # interleaved, so that load drifts alike
        known.append(timed(f"sw-{n % 10}", n))
        unknown.append(timed(f"nobody-{n}", 100 + n))

    def stats(xs: list[float]) -> tuple[float, float]:
        return statistics.median(xs), statistics.quantiles(xs, n=10)[-1]

    return {"known": stats(known), "unknown": stats(unknown)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    vhost = create_vhost()
    workdir = Path(tempfile.mkdtemp(prefix="lianxin-bench-sign-in-"))
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "LIANXIN_JWKS_FILE"},
        "LIANXIN_VAR_DIR": str(workdir),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "LIANXIN_SITE_KEY": "bench-" + uuid.uuid4().hex * 2,
        "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
        "GATEWAY_ADDRESS": f"127.0.0.1:{port}",
        "PUBLIC_BURST": "100000",
        "TRUST_FORWARDED_FOR": "true",  # each failed sign-in below from a client of its own
        **{f"{n.upper()}_METRICS_PORT": "0" for n in TARGETS},
    }
    os.environ.update({k: env[k] for k in ("AMQP_URI", "LIANXIN_VAR_DIR", "LIANXIN_SITE_KEY")})
    os.environ.pop("LIANXIN_JWKS_FILE", None)
    lianxin = str(BIN / "lianxin")
    subprocess.run([lianxin, "migrate", *TARGETS[:-1]], env=env, check=True, capture_output=True)
    procs = [start([lianxin, "run", t], env, workdir / f"{t}.log") for t in TARGETS]
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/livez")
        from nameko.standalone.rpc import ClusterRpcProxy

        from lianxin.auth import CONTEXT_KEY
        from services.accounts.commands import mint

        ops = mint(url=f"sqlite:///{workdir}/accounts.db", sub="bench", role="ops", centers=["*"])
        with ClusterRpcProxy(
            {"AMQP_URI": env["AMQP_URI"]}, context_data={CONTEXT_KEY: ops}, timeout=30
        ) as rpc:
            deadline = time.monotonic() + 60
            while True:
                try:
                    rpc.tickets.create_center(
                        {"id": CENTER, "name": "雁鸣湖镇镇区社区党群服务中心"}
                    )
                    rpc.accounts.create_account(
                        CENTER, {"person_id": "admin-1", "role": "admin", "password": PASSWORD}
                    )
                    for n in range(10):
                        rpc.accounts.create_account(
                            CENTER, {"person_id": f"sw-{n}", "role": "staff", "password": PASSWORD}
                        )
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
        bearer = requests.post(
            f"{base}/api/v1/auth/token",
            json={"center": CENTER, "account": "admin-1", "password": PASSWORD},
            timeout=10,
        ).json()["access_token"]
        browser = requests.Session()
        page = browser.get(f"{base}/login", timeout=10)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
        browser.post(
            f"{base}/login",
            data={
                "kind": "password",
                "center": CENTER,
                "account": "admin-1",
                "password": PASSWORD,
                "csrf_token": csrf,
            },
            timeout=10,
        )
        cookie = browser.cookies.get("lx_access")
        url = f"{base}/api/v1/categories"
        assert requests.get(url, headers={"Cookie": f"lx_access={cookie}"}, timeout=5).ok
        wrk_get(url, {"Authorization": f"Bearer {bearer}"}, 3, args.connections)  # warm-up
        print(f"GET /api/v1/categories, {args.connections} connections, {args.seconds} s each:")
        ratios = []
        for n in range(1, args.rounds + 1):
            by_bearer = wrk_get(
                url, {"Authorization": f"Bearer {bearer}"}, args.seconds, args.connections
            )
            by_cookie = wrk_get(
                url, {"Cookie": f"lx_access={cookie}"}, args.seconds, args.connections
            )
            ratio = by_cookie["rps"] / by_bearer["rps"]
            ratios.append(ratio)
            print(
                f"  round {n}: bearer {by_bearer['rps']:.0f} req/s (p99 {by_bearer['p99_ms']:.1f} ms)"
                f" · cookie session {by_cookie['rps']:.0f} req/s (p99 {by_cookie['p99_ms']:.1f} ms)"
                f" · ratio {ratio:.2f} · non-2xx {by_bearer['non2xx'] + by_cookie['non2xx']}"
            )
        print(f"cookie ÷ bearer throughput: {min(ratios):.2f}–{max(ratios):.2f}")
        timing = failure_timing(base)
        print(
            "a refused sign-in, median / p90 of 40: wrong password of an account "
            f"{timing['known'][0]:.1f} / {timing['known'][1]:.1f} ms, "
            f"an account nobody has {timing['unknown'][0]:.1f} / {timing['unknown'][1]:.1f} ms"
        )
        cost = verification_cost()
        print(
            f"one EdDSA verification: {cost['fresh_us']:.0f} µs the first time a token is seen, "
            f"{cost['remembered_us']:.1f} µs after (remembered until it expires); "
            f"the HS256 check it replaced: {cost['hs256_us']:.0f} µs"
        )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        requests.delete(f"http://guest:guest@127.0.0.1:15672/api/vhosts/{vhost}", timeout=10)


if __name__ == "__main__":
    main()
