"""The ETag of a record and the ``If-Match`` check of a write against it."""

import pytest

from gateway.http import STATUS
from lianxin.concurrency import check_if_match, etag_of, if_match_guard
from lianxin.errors import PreconditionFailed, PreconditionRequired, from_dict

ROOM = {"code": "sports", "name": "文体活动室", "capacity": 80, "equipment": ["音响"]}


def test_the_etag_is_strong_and_the_same_for_equal_content_whatever_the_keys_order():
    tag = etag_of(ROOM)
    assert tag.startswith('"') and tag.endswith('"') and len(tag) == 34
    assert etag_of(dict(reversed(list(ROOM.items())))) == tag
    assert etag_of({**ROOM, "capacity": 81}) != tag
    assert etag_of({**ROOM, "equipment": ["音响", "投影"]}) != tag


def test_a_matching_tag_a_star_or_a_list_holding_it_passes():
    tag = etag_of(ROOM)
    check_if_match(tag, ROOM)
    check_if_match("*", ROOM)
    check_if_match(f'"0000", {tag}', ROOM)
    check_if_match(f"W/{tag}", ROOM)
    check_if_match(None, ROOM)  # a direct RPC caller: no check


def test_a_stale_tag_is_a_412_in_chinese():
    stale = etag_of(ROOM)
    with pytest.raises(PreconditionFailed) as raised:
        check_if_match(stale, {**ROOM, "capacity": 60})
    error = raised.value
    assert STATUS[error.kind] == 412 and error.code == "STALE_WRITE"
    assert error.detail == "该记录已被他人修改，请刷新后再保存"
    assert isinstance(from_dict(error.to_dict()), PreconditionFailed)


def test_a_missing_if_match_is_a_428():
    error = PreconditionRequired()
    assert STATUS[error.kind] == 428 and error.code == "IF_MATCH_REQUIRED"
    assert "If-Match" in error.detail
    assert isinstance(from_dict(error.to_dict()), PreconditionRequired)


def test_the_guard_checks_the_row_as_dumped_and_is_none_without_if_match():
    def current(row: dict) -> dict:
        return dict(row)

    assert if_match_guard(None, current) is None
    guard = if_match_guard(etag_of(ROOM), current)
    assert guard is not None
    guard(ROOM)
    with pytest.raises(PreconditionFailed):
        guard({**ROOM, "name": "新名字"})
