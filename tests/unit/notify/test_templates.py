"""Templates: a center's own wording is refused unless it renders; the defaults all render."""

import pytest

from lianxin.contracts.notify.operations import TemplateText
from services.notify import templates
from services.notify.exceptions import InvalidTemplate


@pytest.mark.parametrize(
    "body, field, words",
    [
        ("{{ plcae }}", "body", "模板中使用了未知的变量：plcae"),
        ("{% if %}", "body", "语法错误（第 1 行）：缺少表达式"),
        ("{{ ''.__class__.__mro__ }}", "body", "不允许的操作：访问 __class__"),
    ],
)
def test_a_template_that_does_not_render_is_refused_when_saved(db, body, field, words):
    with pytest.raises(InvalidTemplate) as caught:
        templates.save_template(
            db_session=db,
            center_id="yanminghu",
            message_type="reminder.shift_today",
            channel="sms",
            by="admin-1",
            data=TemplateText(**{"title": "提醒", "body": body}),
        )
    assert words in caught.value.fields[field][0]
    assert "place" in caught.value.extra["variables"]


def test_every_default_template_renders_its_sample(db):
    for row in templates.list_templates(db_session=db, center_id="yanminghu"):
        mt = templates.require_type(row["message_type"])
        templates.check_template(mt, row["title"], row["body"])


@pytest.mark.parametrize(
    "body, words",
    [
        ("{{ phone_number }}", "模板中使用了未知的变量：phone_number"),
        ("{{ place.floor }}", "模板中使用了未知的属性：floor"),
        ("{{ place | shout }}", "没有名为 shout 的过滤器"),
        ("{% if place %}", "模板意外结束"),
        ("{{ place + 1 }}", "数据类型不匹配"),
    ],
)
def test_a_template_error_reads_in_chinese_naming_what_is_wrong(body, words):
    mt = templates.require_type("reminder.shift_today")
    with pytest.raises(InvalidTemplate) as caught:
        templates.check_template(mt, "提醒", body)
    [reason] = caught.value.fields["body"]
    assert words in reason and "undefined" not in reason and "named" not in reason
