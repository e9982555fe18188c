"""Phone and ID numbers masked in free text that leaves the center; nothing else touched."""

import io
import logging

import pytest

from lianxin import logs
from lianxin.logs import JsonFormatter, MaskFilter
from lianxin.privacy import mask, mask_fields


@pytest.mark.parametrize(
    "text, masked",
    [
        (
            "3号楼2单元302门口垃圾没人清，电话13812345678",
            "3号楼2单元302门口垃圾没人清，电话138****5678",
        ),
        ("我是5号楼的住户，手机138 1234 5678", "我是5号楼的住户，手机138****5678"),
        ("联系人王素芳 139-0371-2468", "联系人王素芳 139****2468"),
        ("小区东门路灯坏了三天了（联系15903711234）", "小区东门路灯坏了三天了（联系159****1234）"),
        ("13812345678反映楼道堆物", "138****5678反映楼道堆物"),
        ("电话:+86 13812345678", "电话:+86 138****5678"),
        ("请回电0371-62345678，白天有人", "请回电0371-****5678，白天有人"),
        ("座机 010 8765 4321", "座机 010 ****4321"),
        ("居委会电话（0371）62345678", "居委会电话（0371）****5678"),
        ("物业值班室037162345678", "物业值班室0371-****5678"),
        ("身份证号410105199001011234，办理高龄补贴", "身份证号4101**********1234，办理高龄补贴"),
        ("老人身份证41018219450312002X丢了", "老人身份证4101**********002X丢了"),
        ("退款到卡号6222021234567890123", "退款到卡号6222***********0123"),
        ("银行卡 6222 0212 3456 7890", "银行卡 6222********7890"),
        ("居民编号 res-13812345678", "居民编号 res-138****5678"),  # a phone inside an id too
        ("两个电话13812345678、13987654321都打不通", "两个电话138****5678、139****4321都打不通"),
    ],
)
def test_phone_id_and_card_numbers_are_masked_keeping_their_ends(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "3号楼2单元302漏水，楼上1502也漏",
        "2026-12-01 08:30 到 2026-12-01 17:00 停水",
        "2026年12月1日上午9:30党建联席会",
        "20261201 前交齐，物业费1200元，另收12,345.67元",
        "工单 YMH-20261201-0003 还没人签收",
        "跟进码 Qm9vX2FiY2RlZg 可查办理进度",
        "staff-duty-1 已签收，msg_3f13812345678ab 已送达",
        "邮编450000，门牌号128号，车牌豫A12345",
        "一共 150 户，其中 12 户独居老人，占 8%",
        "15:30-17:00 文体活动室",
        "",
    ],
)
def test_dates_rooms_amounts_codes_and_ids_are_left_alone(text):
    assert mask(text) == text


def test_masking_twice_changes_nothing_more():
    once = mask("电话13812345678，身份证410105199001011234，座机0371-62345678")
    assert mask(once) == once


def test_only_free_text_fields_are_masked():
    data = {
        "ticket_id": "t-13812345678",
        "summary": "电话13812345678",
        "reason": None,
        "person_id": "13812345678",
        "note": "回电0371-62345678",
    }
    assert mask_fields(data) == {
        "ticket_id": "t-13812345678",
        "summary": "电话138****5678",
        "reason": None,
        "person_id": "13812345678",
        "note": "回电0371-****5678",
    }


def test_the_log_filter_masks_every_records_message():
    record = logging.LogRecord(
        "tickets", logging.INFO, __file__, 1, "来电 %s 反映 %s", ("13812345678", "漏水"), None
    )
    assert MaskFilter().filter(record) is True
    assert record.getMessage() == "来电 138****5678 反映 漏水"
    assert "13812345678" not in JsonFormatter().format(record)


def test_configured_logging_masks_what_any_logger_writes():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        logs.configure("INFO", stream=stream)
        logging.getLogger("services.tickets.intake").info(
            "居民 %s 身份证 %s", "13812345678", "410105199001011234"
        )
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    line = stream.getvalue()
    assert "138****5678" in line and "4101**********1234" in line
    assert "13812345678" not in line


# -- where the tickets service applies it: what its events carry to departments --------------


def test_a_tickets_summary_is_masked_before_it_is_cut():
    from services.tickets.states import SUMMARY_LENGTH, summary

    text = "小区" * 26 + "，电话13812345678"  # the number straddles the cut
    assert len(text) > SUMMARY_LENGTH
    assert summary(text) == ("小区" * 26 + "，电话138****5678")[:SUMMARY_LENGTH]
    assert "1381234" not in summary(text)


def test_ticket_events_carry_reasons_answers_and_notes_masked():
    from types import SimpleNamespace

    from lianxin.roles import Principal
    from services.tickets.states import fact

    ticket = SimpleNamespace(
        id="t-1", category="sanitation", party="property", reporter_id="res-1", supporter_ids=[]
    )
    actor = Principal(sub="handler-1", role="staff", centers=("yanminghu",))
    data = fact(
        ticket,
        actor,
        reason="业主不在家，已留言请回电0371-62345678",
        answer="已联系住户13812345678处理",
        note="请尽快联系13987654321",
        primary_id="t-13812345678",
    )
    assert data["reason"] == "业主不在家，已留言请回电0371-****5678"
    assert data["answer"] == "已联系住户138****5678处理"
    assert data["note"] == "请尽快联系139****4321"
    assert data["primary_id"] == "t-13812345678"  # an id, not free text
