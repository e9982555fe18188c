"""Certificates anyone can check, through the gateway on the real broker: the PDF embeds its
font and prints its code and link; the public JSON answer and the /verify page say genuine or
not, for whom (masked), how many hours — never contact data; guesses are rate-limited."""

import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import requests

from lianxin.testing import free_port
from services.volunteers.verification import display, new_code

pytestmark = pytest.mark.integration

CENTER = "yanminghu"


@pytest.fixture
def site(container_factory, service_config, token, center_registry, rpc):
    from gateway.service import GatewayService
    from services.volunteers.service import VolunteersService

    port = free_port()
    center_registry(CENTER)
    container_factory(
        VolunteersService, service_config("volunteers", PUBLIC_URL="https://lianxin.example.cn")
    ).start()
    container_factory(
        GatewayService,
        service_config(
            "gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", VERIFY_BURST=4, VERIFY_RATE=0.01
        ),
    ).start()
    admin = rpc(token("admin"))
    admin.volunteers.register_volunteer(CENTER, {"name": "张志强", "person_id": "vol-1"})
    admin.volunteers.register_beneficiary(
        CENTER,
        {
            "file_no": "YM-001",
            "name": "刘敬州",
            "category": "elderly_alone",
            "care_needs": ["life_care"],
            "address": "东村 6 号楼",
        },
    )
    for day in (1, 2, 3):
        admin.volunteers.record_visit(
            CENTER,
            "YM-001",
            {
                "visited_at": (datetime.now(UTC) - timedelta(days=day)).isoformat(),
                "volunteers": [{"volunteer_id": "vol-1", "hours": 20}],
            },
        )
    (milestone,) = admin.volunteers.list_certificates(CENTER, "vol-1")
    return f"http://127.0.0.1:{port}", milestone, token


def test_the_certificate_embeds_its_font_and_prints_its_code_and_link(site, tmp_path):
    base, milestone, token = site
    got = requests.get(
        f"{base}/api/v1/volunteers/vol-1/certificates/50",
        timeout=30,
        headers={"Authorization": f"Bearer {token('admin')}"},
    )
    assert got.status_code == 200, got.text
    path = tmp_path / "cert.pdf"
    path.write_bytes(got.content)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    rows = [line.split() for line in fonts.stdout.splitlines()[2:]]
    assert rows and all(r[-5] == "yes" for r in rows), fonts.stdout
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert f"验证码：{display(milestone['verify_code'])}" in text
    assert f"https://lianxin.example.cn/verify/{milestone['verify_code']}" in text


def test_anyone_checks_a_code_and_learns_only_whom_how_many_hours_and_where(site):
    base, milestone, _token = site
    typed = display(milestone["verify_code"]).lower()
    got = requests.get(f"{base}/api/v1/public/certificates/{typed}", timeout=15)
    assert got.status_code == 200, got.text
    answer = got.json()
    assert answer["genuine"] is True and answer["volunteer_name"] == "张*强"
    assert answer["milestone_hours"] == 50 and answer["total_hours"] == 60.0
    assert answer["center_name"] == "雁鸣湖镇镇区社区党群服务中心"
    assert not {"person_id", "phone", "volunteer_id"} & set(answer)

    page = requests.get(f"{base}/verify/{milestone['verify_code']}", timeout=15)
    assert page.status_code == 200 and "查验通过" in page.text and "张*强" in page.text
    assert page.headers["Content-Type"].startswith("text/html")


def test_a_forged_or_mistyped_code_is_told_in_chinese(site):
    base, _milestone, _token = site
    forged = requests.get(f"{base}/api/v1/public/certificates/{new_code()}", timeout=15)
    assert forged.status_code == 404 and forged.json()["code"] == "CERTIFICATE_NOT_GENUINE"
    assert "不是本系统出具" in forged.json()["detail"]
    typo = requests.get(f"{base}/api/v1/public/certificates/ABCD-EFGH-JKMN-P", timeout=15)
    assert typo.status_code == 422 and "验证码" in typo.json()["detail"]
    page = requests.get(f"{base}/verify/{new_code()}", timeout=15)
    assert page.status_code == 404 and "未通过查验" in page.text


def test_guessing_codes_is_rate_limited_per_client_on_the_api_and_the_page_alike(site):
    base, _milestone, _token = site
    answers = [
        requests.get(f"{base}/api/v1/public/certificates/{new_code()}", timeout=15)
        for _ in range(3)
    ]
    answers.append(requests.get(f"{base}/verify/{new_code()}", timeout=15))
    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    limited = requests.get(f"{base}/api/v1/public/certificates/{new_code()}", timeout=15)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert "查验次数过多" in limited.json()["detail"]
    page = requests.get(f"{base}/verify/{new_code()}", timeout=15)
    assert page.status_code == 429 and "查验次数过多" in page.text
