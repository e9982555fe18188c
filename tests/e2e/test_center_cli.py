"""``lianxin center create`` on the server, against the running system (`make run`, seeded):
a second center copied from the demo center, its admin invited; ``lianxin center list``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Lianxin2026ok"

pytestmark = pytest.mark.e2e


def lianxin(system, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lianxin.cli", *args],
        cwd=ROOT,
        env=system.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ops_onboard_a_center_from_the_demo_center_with_the_command(system, token):
    made = lianxin(
        system,
        "center",
        "create",
        "--id",
        "fenghuangtai",
        "--name",
        "凤凰台街道党群服务中心",
        "--admin-person",
        "fht-admin",
        "--admin-name",
        "赵主任",
    )
    assert made.returncode == 0, made.stderr
    assert "已开通" in made.stdout and "邀请链接" in made.stdout
    link = made.stdout.strip().splitlines()[-1].split("：", 1)[1]
    assert "/login/invitation/" in link

    again = lianxin(system, "center", "create", "--id", "fenghuangtai", "--name", "凤凰台")
    assert again.returncode != 0 and "已被使用" in again.stderr

    listed = lianxin(system, "center", "list")
    assert listed.returncode == 0, listed.stderr
    assert "fenghuangtai" in listed.stdout and "yanminghu" in listed.stdout

    # the copy: the demo center's categories are the new center's
    def codes(center: str) -> list[str]:
        answer = system.get(f"/api/v1/public/centers/{center}/categories")
        assert answer.status_code == 200, answer.text
        return sorted(c["code"] for c in answer.json())

    assert codes("fenghuangtai") == codes("yanminghu") != []
    center = system.get("/api/v1/centers/fenghuangtai", token=token("ops", "*"))
    assert center.status_code == 200 and center.json()["status"] == "active"

    # its admin accepts the invitation and signs in there
    invitation = link.rsplit("/", 1)[1]
    accepted = system.post(f"/api/v1/auth/invitations/{invitation}", json={"password": PASSWORD})
    assert accepted.status_code == 200, accepted.text
    signed_in = system.post(
        "/api/v1/auth/token",
        json={"center": "fenghuangtai", "account": "fht-admin", "password": PASSWORD},
    )
    assert signed_in.status_code == 200, signed_in.text
