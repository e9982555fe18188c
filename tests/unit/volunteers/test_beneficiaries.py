"""The beneficiary register and its import from paper."""

import pytest

from lianxin.contracts.schema import load
from lianxin.contracts.volunteers import events as volunteers_events
from lianxin.contracts.volunteers import operations as vc
from lianxin.errors import InvalidInput
from services.volunteers import beneficiaries

from .conftest import CENTER


def test_beneficiary_event_carries_no_personal_details(beneficiary, events):
    b = beneficiary(guardian={"name": "刘建国", "relation": "儿子"})
    [event] = events(volunteers_events.BENEFICIARY_REGISTERED)
    assert event["data"] == {
        "beneficiary_id": b.id,
        "category": "elderly_alone",
        "care_needs": ["life_care"],
    }
    assert b.age == 82 and b.guardian["relation"] == "儿子"


def test_beneficiaries_are_filtered_by_care_need_and_name(db, beneficiary):
    beneficiary("刘敬州")
    beneficiary("王素芳", care_needs=["emotional_support", "health"])
    items, total = beneficiaries.list_beneficiaries(
        db_session=db, center_id=CENTER, query={"care_need": "health", "limit": 10, "offset": 0}
    )
    assert [b.name for b in items] == ["王素芳"] and total == 1
    items, _ = beneficiaries.list_beneficiaries(
        db_session=db, center_id=CENTER, query={"q": "敬州", "limit": 10, "offset": 0}
    )
    assert [b.name for b in items] == ["刘敬州"]


def test_import_skips_file_numbers_already_on_the_register(db, outbox, beneficiary):
    beneficiary("刘敬州", file_no="YM-001")
    items = [
        load(
            vc.BeneficiaryCreate,
            {
                "name": n,
                "category": "disabled",
                "care_needs": ["life_care"],
                "address": "东村社区",
                "file_no": f,
            },
        )
        for n, f in (("刘敬州", "YM-001"), ("张书芬", "YM-002"), ("张书芬", "YM-002"))
    ]
    assert beneficiaries.import_beneficiaries(
        db_session=db, outbox=outbox, center_id=CENTER, items=items
    ) == {"created": 1, "skipped": 2}


def test_import_requires_file_numbers():
    with pytest.raises(InvalidInput) as err:
        load(
            vc.BeneficiaryImport,
            {
                "items": [
                    {
                        "name": "王素芳",
                        "category": "elderly_alone",
                        "care_needs": ["life_care"],
                        "address": "东村",
                    }
                ]
            },
        )
    assert err.value.fields == {"items": {0: {"file_no": ["导入时必填"]}}}
