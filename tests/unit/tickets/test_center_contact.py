"""What a center's home page tells residents: its hotline and opening hours, set at creation
or by its admin, readable by anyone (the public center read)."""

import pytest

from lianxin.errors import Forbidden, InvalidInput


def test_the_admin_sets_the_hotline_and_opening_hours_and_anyone_reads_them(service, token):
    changes = {"hotline": "0371-62161234", "opening_hours": "周一至周日 8:30–12:00，14:30–18:00"}
    changed = service(token("admin")).update_center("yanminghu", changes)
    assert changed["hotline"] == "0371-62161234"
    public = service().get_center("yanminghu")
    assert public["hotline"] == "0371-62161234"
    assert public["opening_hours"] == "周一至周日 8:30–12:00，14:30–18:00"


def test_a_hotline_is_digits_with_an_area_codes_dash(service, token):
    with pytest.raises(InvalidInput) as refused:
        service(token("admin")).update_center("yanminghu", {"hotline": "打电话给我"})
    assert refused.value.fields == {"hotline": ["电话号码格式无效（数字，可含区号横线）"]}
    with pytest.raises(Forbidden):
        service(token("staff")).update_center("yanminghu", {"hotline": "12345"})


def test_a_center_without_them_reads_as_empty(service):
    center = service().get_center("yanminghu")
    assert center["hotline"] == "" and center["opening_hours"] == ""
