"""The day before a center's joint meeting the reports service announces its month report on
the bus, once per center and month; notify tells the parties' contacts and the admin."""

from datetime import UTC, datetime, timedelta

import eventlet
import pytest

from lianxin.clock import local
from lianxin.contracts.reports.events import REPORT_PUBLISHED
from lianxin.testing import wait_for

pytestmark = pytest.mark.integration

CENTER = "yanminghu"


def meeting_day_due_now() -> int:
    """A meeting day the report is due on today (tomorrow's, else today's)."""
    today = local(datetime.now(UTC)).date()
    tomorrow = today + timedelta(days=1)
    if tomorrow.month == today.month and tomorrow.day <= 28:
        return tomorrow.day
    if today.day <= 28:
        return today.day
    pytest.skip("no meeting day (1–28) is due on the 29th–31st")


def test_the_report_is_announced_once_and_notify_tells_parties_and_admin(
    container_factory, service_config, center_registry, rpc, token, bus, tmp_path
):
    from services.notify.service import NotifyService
    from services.reports.service import ReportsService

    center_registry(CENTER)
    admin = rpc(token("admin"))
    admin.tickets.update_center(CENTER, {"meeting_day": meeting_day_due_now()}, if_match="*")
    container_factory(
        NotifyService,
        service_config("notify", QUIET_HOURS="off", SANDBOX_DIR=str(tmp_path / "sandbox")),
    ).start()
    for person, role, party in (
        ("wy-1", "staff", "property"),
        ("sw-1", "staff", "social_work"),
        ("admin-1", "admin", None),
        ("cadre-1", "staff", None),
    ):
        admin.notify.upsert_contact(
            CENTER,
            {
                "person_id": person,
                "name": person,
                "role": role,
                "party": party,
                "email": f"{person}@example.cn",
            },
        )
    queue = bus.bind("reports", str(REPORT_PUBLISHED))
    reports = container_factory(
        ReportsService,
        service_config("reports", REPORT_CHECK_SECONDS=0.5, PUBLIC_URL="https://lx.example.cn"),
    )
    reports.start()
    event = wait_for(lambda: bus.get(queue), timeout=20)
    month = local(datetime.now(UTC)).strftime("%Y-%m")
    assert event["data"]["month"] == month and event["centerid"] == CENTER
    assert (
        event["data"]["report_url"] == f"https://lx.example.cn/api/v1/reports/monthly/{month}.pdf"
    )

    def told() -> list[str]:
        """Who got the report by e-mail (each also has it in the app), once each."""
        log = admin.notify.list_deliveries(CENTER, {"limit": 200})["items"]
        return sorted(
            d["person_id"]
            for d in log
            if d["message_type"] == "report.published" and d["channel"] == "email"
        )

    # The parties' contacts (the two in the directory) and the admin; not the cadre.
    assert wait_for(lambda: told() == ["admin-1", "sw-1", "wy-1"], timeout=20)

    # A restarted replica publishes the same event again: nobody is told twice.
    reports.stop()
    again = container_factory(
        ReportsService,
        service_config("reports", REPORT_CHECK_SECONDS=0.5, PUBLIC_URL="https://lx.example.cn"),
    )
    again.start()
    repeat = wait_for(lambda: bus.get(queue), timeout=20)
    assert repeat["id"] == event["id"]
    eventlet.sleep(2)
    assert told() == ["admin-1", "sw-1", "wy-1"]
