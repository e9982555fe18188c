"""The reporter is reached on every channel: the person id the gateway gave their contact is
the ticket's reporter; one who left none is told so on the follow page; photos are shown to
the public only where the center allows."""

import pytest

from lianxin.errors import InvalidInput

PAYLOAD = {"category": "sanitation", "description": "3号楼门口垃圾两天没人清运"}
PHOTO = "0123456789abcdef0123456789abcdef"


def test_a_web_reporter_keeps_the_person_id_the_gateway_gave_their_contact(service):
    receipt = service().create_ticket("yanminghu", {**PAYLOAD, "reporter_id": "reporter-ab12"})
    assert receipt["reporter_id"] == "reporter-ab12"
    [answer] = service().create_tickets(
        [
            {
                "center_id": "yanminghu",
                "payload": {**PAYLOAD, "description": "路灯不亮", "reporter_id": "reporter-cd34"},
            }
        ]
    )
    assert answer["ticket"]["reporter_id"] == "reporter-cd34"


def test_a_signed_in_resident_is_always_their_own_reporter(service, token):
    receipt = service(token("resident", sub="res-1")).create_ticket(
        "yanminghu", {**PAYLOAD, "reporter_id": "someone-else"}
    )
    assert receipt["reporter_id"] == "res-1"


def test_a_clerk_registers_a_caller_under_their_new_person_id(service, token):
    receipt = service(token("staff", sub="duty-1")).create_ticket(
        "yanminghu", {**PAYLOAD, "channel": "hotline", "reporter_id": "reporter-ef56"}
    )
    assert receipt["reporter_id"] == "reporter-ef56" and receipt["channel"] == "hotline"


def test_the_follow_page_says_whether_the_reporter_left_a_contact(service):
    reached = service().create_ticket("yanminghu", {**PAYLOAD, "reporter_id": "reporter-1"})
    silent = service().create_ticket("yanminghu", {**PAYLOAD, "description": "路灯不亮"})
    for receipt, left in ((reached, True), (silent, False)):
        follow = service().get_public_ticket(
            "yanminghu", receipt["id"], {"code": receipt["follow_code"]}
        )
        assert follow["contact_left"] is left
        assert [e["action"] for e in follow["timeline"]] == ["report"]


def test_photos_are_shown_to_the_public_only_where_the_center_allows(service, token):
    receipt = service().create_ticket("yanminghu", {**PAYLOAD, "photo_ids": [PHOTO]})
    assert receipt["photo_ids"] == [PHOTO]
    staff = service(token("staff"))
    assert staff.get_ticket("yanminghu", receipt["id"])["photo_ids"] == [PHOTO]

    def public():
        follow = service().get_public_ticket(
            "yanminghu", receipt["id"], {"code": receipt["follow_code"]}
        )
        [found] = service().search_tickets("yanminghu", {"ids": [receipt["id"]]})
        return follow["photo_ids"], found["photo_ids"]

    from lianxin.errors import NotFound

    assert public() == ([], [])
    with pytest.raises(NotFound) as hidden:
        service().find_public_photo("yanminghu", PHOTO)
    assert hidden.value.detail == "照片不存在或未公开"
    center = service(token("admin")).update_center("yanminghu", {"public_photos": True})
    assert center["public_photos"] is True
    assert public() == ([PHOTO], [PHOTO])
    assert service().find_public_photo("yanminghu", PHOTO) == {
        "photo_id": PHOTO,
        "ticket_id": receipt["id"],
    }
    with pytest.raises(NotFound):
        service().find_public_photo("fenghuangtai", PHOTO)  # another center's photo


@pytest.mark.parametrize(
    "photos, words",
    [
        (["not-a-photo-id"], "照片编号无效"),
        ([PHOTO[:-1] + str(i) for i in range(4)], "最多上传 3 张"),
    ],
)
def test_photo_ids_are_checked(service, photos, words):
    with pytest.raises(InvalidInput) as refused:
        service().create_ticket("yanminghu", {**PAYLOAD, "photo_ids": photos})
    assert words in str(refused.value.fields["photo_ids"])
