"""Templates: a center's own wording is refused unless it renders; the defaults all render."""

import pytest

from lianxin.contracts.notify.operations import TemplateText
from services.notify import templates
from services.notify.exceptions import InvalidTemplate


@pytest.mark.parametrize(
    "body, field, words",
    [
        ("{{ plcae }}", "body", "不存在的变量"),
        ("{% if %}", "body", "语法错误"),
        ("{{ ''.__class__.__mro__ }}", "body", "不允许"),
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
