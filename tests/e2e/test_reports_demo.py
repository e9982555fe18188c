"""The demo center's month report, a certificate anyone can check and a care file — the whole
system started as the README says (`make run`), over HTTP only."""

import subprocess
from datetime import UTC, datetime

import pytest
import requests

from lianxin.clock import local

pytestmark = pytest.mark.e2e


def this_month() -> str:
    return local(datetime.now(UTC)).strftime("%Y-%m")


def test_the_demo_report_shows_the_seeds_985_percent_and_equals_the_statistics(system, token):
    admin = token("admin")
    month = this_month()
    report = system.get(f"/api/v1/reports/monthly/{month}", token=admin)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["center"]["name"] == "雁鸣湖镇镇区社区党群服务中心"
    assert body["satisfaction"] == 98.5  # 131 satisfied + 66 basically of 200 return visits
    days = {"from": body["from"], "to": body["to"]}
    assert body["tickets"] == system.get("/api/v1/tickets/stats", token=admin, params=days).json()
    assert body["volunteers"] == (
        system.get("/api/v1/volunteers/stats", token=admin, params=days).json()
    )
    assert body["meeting"]["items"][0]["ticket"]["description"].startswith("新建小区停车位不足")


def test_the_demo_report_pdf_embeds_its_fonts(system, token, tmp_path):
    got = requests.get(
        system.url(f"/api/v1/reports/monthly/{this_month()}.pdf"),
        headers={"Authorization": f"Bearer {token('admin')}"},
        timeout=60,
    )
    assert got.status_code == 200, got.text
    path = tmp_path / "report.pdf"
    path.write_bytes(got.content)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    rows = [line.split() for line in fonts.stdout.splitlines()[2:]]
    assert rows and all(r[-5] == "yes" for r in rows), fonts.stdout


def test_a_seeded_volunteers_certificate_is_checked_by_anyone(system, token):
    staff = token("staff", party="social_work")
    volunteers = system.get("/api/v1/volunteers?limit=100", token=staff).json()["items"]
    holder = max(volunteers, key=lambda v: v["verified_hours"])
    (first, *_rest) = system.get(
        f"/api/v1/volunteers/{holder['id']}/certificates", token=staff
    ).json()
    check = system.get(f"/api/v1/public/certificates/{first['verify_code']}")
    assert check.status_code == 200, check.text
    assert check.json()["genuine"] and check.json()["milestone_hours"] == first["milestone_hours"]
    page = system.get(f"/verify/{first['verify_code']}")
    assert page.status_code == 200 and "查验通过" in page.text


def test_the_care_file_of_a_seeded_beneficiary_is_opened_and_the_opening_logged(system, token):
    staff = token("staff", sub="sw-e2e", party="social_work")
    (found,) = system.get("/api/v1/beneficiaries?q=刘敬州", token=staff).json()["items"][:1]
    file = system.get(f"/api/v1/beneficiaries/{found['id']}/care-file", token=staff)
    assert file.status_code == 200, file.text
    assert (
        file.json()["visits"] and file.json()["next_visit"]["title"] == "独居老人刘敬州家打扫卫生"
    )
    log = system.get(
        "/api/v1/care-file-access", token=token("admin"), params={"beneficiary_id": found["id"]}
    ).json()["items"]
    assert log[0]["reader_id"] == "sw-e2e" and log[0]["reader_duty"] == "social_worker"
