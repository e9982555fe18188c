"""The directory: people's contact data."""

from lianxin.contracts.notify.operations import NewContact
from services.notify import directory


def test_contact_update_changes_only_the_given_fields(db, contacts):
    contacts({"person_id": "sw-1", "name": "赵晓雯", "phone": "13800000011", "email": "a@b.cn"})
    directory.update_contact(
        db_session=db, center_id="yanminghu", person_id="sw-1", data={"email": None}
    )
    contact = directory.get_contact(db_session=db, center_id="yanminghu", person_id="sw-1")
    assert (contact.name, contact.phone, contact.email) == ("赵晓雯", "13800000011", None)


def test_directory_log_lines_mask_the_phone_number(db, caplog):
    from lianxin.logs import JsonFormatter

    with caplog.at_level("INFO"):
        directory.upsert_contact(
            db_session=db,
            center_id="yanminghu",
            data=NewContact(
                **{
                    "person_id": "p",
                    "name": "张",
                    "role": "resident",
                    "party": None,
                    "phone": "13912345678",
                    "email": None,
                    "wechat_openid": None,
                    "webhook_url": None,
                }
            ),
        )
    lines = [JsonFormatter().format(r) for r in caplog.records]
    assert any("139****5678" in line for line in lines)
    assert not any("13912345678" in line for line in lines)
