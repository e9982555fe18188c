"""The demo seed's volunteering steps, run through the real services: the report's figures,
and a second run that changes nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from nameko.exceptions import RemoteError

from lianxin import seed
from lianxin.clock import local
from lianxin.errors import Conflict, from_remote

pytestmark = pytest.mark.integration


@pytest.fixture
def running(container_factory, service_config, pg_database, center_registry):
    from services.notify.service import NotifyService
    from services.volunteers.service import VolunteersService

    center_registry()
    for cls, name, url in (
        (VolunteersService, "volunteers", pg_database()),
        (NotifyService, "notify", None),
    ):
        container_factory(cls, service_config(name, db_url=url)).start()


def apply(proxy, today):
    created = skipped = 0
    for _label, service, method, args in seed.volunteers_steps(today):
        try:
            getattr(getattr(proxy, service), method)(*args)
            created += 1
        except RemoteError as exc:
            error = from_remote(exc)
            if not isinstance(error, Conflict):
                raise
            skipped += 1
    return created, skipped


def test_seeded_volunteering_gives_the_reports_figures_and_is_idempotent(running, rpc, token):
    admin = rpc(token("admin", sub="lianxin-seed"))
    today = datetime.now(UTC)
    created, skipped = apply(admin, today)
    assert skipped == 0 and created > 50

    yesterday = (local(today) - timedelta(days=1)).date()
    stats = admin.volunteers.center_stats(seed.DEMO_CENTER, {"to": yesterday.isoformat()})
    assert (stats["verified_hours"], stats["participations"]) == (500, 245)
    assert stats["beneficiaries_served"] == 122 and stats["service_person_times"] == 122

    liu = admin.volunteers.list_beneficiaries(seed.DEMO_CENTER, {"q": "刘敬州"})["items"][0]
    assert liu["age"] == local(today).year - 1944
    shifts = admin.volunteers.list_shifts(seed.DEMO_CENTER, {})["items"]
    assert {s["ref"] for s in shifts} == {s["ref"] for s in seed.shifts(today)}
    cleaning = next(s for s in shifts if s["ref"] == "demo-liu-cleaning")
    assert cleaning["beneficiary_id"] == liu["id"] and cleaning["confirmed"] == 2
    backbone = admin.volunteers.get_volunteer(seed.DEMO_CENTER, "vol-1")
    assert [m["milestone_hours"] for m in backbone["totals"]["milestones"]] == [50, 100]
    assert {t["kind"] for t in backbone["trainings"]} == {"exchange_visit", "course"}
    assert admin.notify.get_contact(seed.DEMO_CENTER, "vol-7")["role"] == "volunteer"

    apply(admin, today)  # the second run: nothing new
    again = admin.volunteers.center_stats(seed.DEMO_CENTER, {"to": yesterday.isoformat()})
    assert again == stats
    assert admin.volunteers.list_volunteers(seed.DEMO_CENTER, {})["total"] == len(seed.VOLUNTEERS)
    assert admin.volunteers.list_shifts(seed.DEMO_CENTER, {})["total"] == len(shifts)


@pytest.fixture
def directory(container_factory, service_config, center_registry):
    from services.notify.service import NotifyService

    center_registry()
    container_factory(NotifyService, service_config("notify")).start()


def test_everyone_the_seed_puts_on_duty_is_in_the_directory_with_a_phone(directory, rpc, token):
    admin = rpc(token("admin", sub="lianxin-seed"))
    today = datetime.now(UTC)
    for _ in range(2):  # the second run replaces the same entries: nothing new, no refusal
        for _label, service, method, args in seed.notify_steps(today):
            getattr(getattr(admin, service), method)(*args)

    on_duty = {args[1]["person_id"] for *_, args in seed.duty_roster(today)}
    assert on_duty == {"staff-duty-1", "staff-duty-2", "staff-duty-3"}
    entries = [admin.notify.get_contact(seed.DEMO_CENTER, person_id) for person_id in on_duty]
    assert all(e["role"] == "staff" and e["phone"].startswith("13") for e in entries)
    assert len({e["phone"] for e in entries}) == len(entries)
    assert sum(1 for e in entries if e["wechat_openid"]) >= 2
    names = {args[1]["person_id"]: args[1]["name"] for *_, args in seed.duty_roster(today)}
    assert {e["person_id"]: e["name"] for e in entries} == names
    staff = admin.notify.list_contacts(seed.DEMO_CENTER, {"role": "staff", "limit": 100})
    assert staff["total"] == sum(1 for s in seed.STAFF if s["role"] == "staff")
