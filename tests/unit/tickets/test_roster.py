"""The roster through the service: notify is asked (as the admin) whether the person can be
reached before an entry is saved; its silence refuses the entry rather than saving one
that might alert nobody."""

from datetime import UTC, datetime, timedelta

import pytest
from nameko.exceptions import RemoteError, UnknownService

from lianxin.errors import Forbidden, InvalidInput, LianxinError

START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
SHIFT = {
    "person_id": "duty-2",
    "name": "赵晓雯",
    "starts_at": START.isoformat(),
    "ends_at": (START + timedelta(hours=12)).isoformat(),
}


def test_the_admin_rosters_someone_notify_can_reach(service, token, notify):
    admin = service(token("admin"))
    shift = admin.add_duty_shift("yanminghu", SHIFT)
    assert shift["person_id"] == "duty-2"
    notify.check_reachable.assert_called_once_with("yanminghu", "duty-2")
    listed = service(token("staff")).list_duty(
        "yanminghu", {"start": START.isoformat(), "end": (START + timedelta(days=1)).isoformat()}
    )
    assert [s["person_id"] for s in listed] == ["duty-2"]


@pytest.mark.parametrize(
    "person, reason",
    [("in-app-only", "值班人员缺少联系方式"), ("staff-duty-3", "通讯录中没有此人")],
)
def test_a_roster_entry_notify_cannot_reach_is_refused_with_the_reason(
    service, token, person, reason
):
    admin = service(token("admin"))
    with pytest.raises(InvalidInput) as refused:
        admin.add_duty_shift("yanminghu", {**SHIFT, "person_id": person})
    assert refused.value.fields == {"person_id": [reason]}
    assert admin.list_duty("yanminghu", {"start": START.isoformat()}) == []


def test_staff_who_are_not_the_admin_cannot_roster(service, token, notify):
    with pytest.raises(Forbidden):
        service(token("staff")).add_duty_shift("yanminghu", SHIFT)
    notify.check_reachable.assert_not_called()


def test_notify_silent_or_down_refuses_the_entry_in_chinese(service, token, notify):
    notify.check_reachable.side_effect = UnknownService("notify")
    with pytest.raises(LianxinError) as down:
        service(token("admin")).add_duty_shift("yanminghu", SHIFT)
    assert down.value.code == "DIRECTORY_UNAVAILABLE" and "通讯录服务" in down.value.detail


def test_notifys_own_refusal_reaches_the_admin_as_it_is(service, token, notify):
    notify.check_reachable.side_effect = RemoteError(
        "Forbidden",
        '{"kind": "forbidden", "code": "ROLE_FORBIDDEN", "detail": "无权执行此操作"}',
    )
    with pytest.raises(Forbidden) as refused:
        service(token("admin")).add_duty_shift("yanminghu", SHIFT)
    assert refused.value.code == "ROLE_FORBIDDEN"


def test_a_new_ticket_names_who_the_roster_has_on_duty(service, token, events):
    now = datetime.now(UTC)
    admin = service(token("admin"))
    for person in ("duty-1", "duty-2"):
        admin.add_duty_shift(
            "yanminghu",
            {
                **SHIFT,
                "person_id": person,
                "starts_at": (now - timedelta(hours=1)).isoformat(),
                "ends_at": (now + timedelta(hours=1)).isoformat(),
            },
        )
    service().create_ticket("yanminghu", {"category": "sanitation", "description": "路灯不亮"})
    [created] = events()
    assert sorted(created["data"]["duty_person_ids"]) == ["duty-1", "duty-2"]
