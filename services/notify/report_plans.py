"""Who is told of a published monthly report: the four parties' contacts (each party's
handlers in the directory) and the center's admins — once per center and month."""

from __future__ import annotations

from lianxin.contracts.reports import events as rp
from lianxin.roles import PARTIES
from services.notify.plans import EventData, Message, Plan


def plan(etype: str, data: EventData, center_id: str) -> Plan:
    plan = Plan()
    if etype != rp.REPORT_PUBLISHED:
        return plan
    month = str(data["month"])
    meeting = data["meeting_date"]
    ctx = {
        "month": month,
        "month_label": f"{month[:4]}年{int(month[5:])}月",
        "meeting_date": meeting.isoformat() if hasattr(meeting, "isoformat") else str(meeting),
        "report_url": data["report_url"],
        "workbook_url": data["workbook_url"],
    }
    ref, once = f"{center_id}/{month}", f"report:{month}"
    for party in PARTIES:
        plan.messages.append(
            Message(
                "report.published", dict(ctx), party=party, ref_type="report", ref_id=ref, once=once
            )
        )
    plan.messages.append(
        Message(
            "report.published",
            dict(ctx),
            roles=("admin",),
            ref_type="report",
            ref_id=ref,
            once=once,
        )
    )
    return plan
