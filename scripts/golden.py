"""Write a golden sample for every declared event type that has none yet.

    python scripts/golden.py          # then review and commit tests/unit/kit/golden/*.json

Samples are built from each data schema's fields (realistic values for the
Yanming Lake demo center) and then frozen: the contract tests fail if a later
schema change stops an existing sample from parsing — that is a breaking change,
which needs a new ``.v2`` type instead.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

from marshmallow import fields, validate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lianxin.clock import rfc3339
from lianxin.contracts import CATALOGUE, load_catalogue

OUT = Path(__file__).resolve().parent.parent / "tests" / "unit" / "kit" / "golden"
NS = uuid.UUID("6b1f4b3e-0000-4000-8000-000000000000")
WHEN = "2026-12-01T01:30:00.000Z"


def sample(name: str, field: fields.Field, etype: str):
    one_of = next((v for v in field.validators if isinstance(v, validate.OneOf)), None)
    if one_of is not None:
        return list(one_of.choices)[0]
    if isinstance(field, fields.AwareDateTime | fields.DateTime):
        return WHEN
    if isinstance(field, fields.Bool):
        return False
    if isinstance(field, fields.Int):
        return {"level": 1, "milestone_hours": 50, "party_size": 2}.get(name, 10)
    if isinstance(field, fields.Float):
        return 2.5
    if isinstance(field, fields.List):
        return ["person-1", "person-2"] if name.endswith("ids") else ["life_care"]
    if isinstance(field, fields.Dict):
        return {}
    if name.endswith("_month"):
        return "2026-12"
    if name.endswith("id") or name.endswith("_id"):
        return str(uuid.uuid5(NS, f"{etype}:{name}"))
    texts = {
        "summary": "东村社区3号楼门口垃圾两天没人清运",
        "title": "趣味益智 健康生活",
        "activity_title": "趣味益智 健康生活",
        "shift_title": "看望独居老人刘敬州",
        "place": "文体活动室",
        "reason": "不属于物业服务范围",
        "answer": "已安排保洁清运",
        "category_name": "环境卫生",
        "category": "sanitation",
        "room": "sports",
        "purpose": "悦动耄耋活动",
    }
    return texts.get(name, "雁鸣湖")


def main() -> None:
    load_catalogue()
    OUT.mkdir(parents=True, exist_ok=True)
    for etype, declared in sorted(CATALOGUE.items()):
        path = OUT / f"{etype}.json"
        if path.exists():
            continue
        schema = declared.schema()
        data = {n: sample(n, f, etype) for n, f in schema.fields.items()}
        body = {
            "specversion": "1.0",
            "id": str(uuid.uuid5(NS, etype)),
            "source": f"/centers/yanminghu/{declared.service}",
            "type": etype,
            "time": WHEN,
            "subject": str(uuid.uuid5(NS, etype + ":subject")),
            "centerid": "yanminghu",
            "datacontenttype": "application/json",
            "data": schema.dump(schema.load(data)),
        }
        path.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path.name}")
    assert rfc3339  # the same time format the envelopes use


if __name__ == "__main__":
    main()
