"""Write docs/permissions.md: who may do what, from the operation table (one place).

    .venv/bin/python scripts/permissions.py          # rewrite docs/permissions.md
    .venv/bin/python scripts/permissions.py --check  # exit 1 if it is not current

Every operation of the five services' contracts, with the roles and duties its ``roles``
admit and the rules that narrow it further; a unit test keeps the committed page current.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lianxin.contracts.accounts import operations as accounts  # noqa: E402
from lianxin.contracts.events import operations as events  # noqa: E402
from lianxin.contracts.notify import operations as notify  # noqa: E402
from lianxin.contracts.reports import operations as reports  # noqa: E402
from lianxin.contracts.tickets import operations as tickets  # noqa: E402
from lianxin.contracts.volunteers import operations as volunteers  # noqa: E402
from lianxin.operations import Operation, Operations  # noqa: E402
from lianxin.roles import DUTY_NAMES, ROLE_NAMES, Principal  # noqa: E402

PAGE = ROOT / "docs" / "permissions.md"
TABLES: tuple[Operations, ...] = (
    accounts.OPERATIONS,
    tickets.OPERATIONS,
    volunteers.OPERATIONS,
    events.OPERATIONS,
    notify.OPERATIONS,
    reports.OPERATIONS,
)
#: The columns: a staff member's duty (role + party), then the other roles.
COLUMNS = (
    ("resident", ROLE_NAMES["resident"]),
    ("volunteer", ROLE_NAMES["volunteer"]),
    ("cadre", DUTY_NAMES["cadre"]),
    ("social_worker", DUTY_NAMES["social_worker"]),
    ("handler", DUTY_NAMES["handler"]),
    ("admin", DUTY_NAMES["admin"]),
    ("department", ROLE_NAMES["department"]),
    ("ops", ROLE_NAMES["ops"]),
)
#: A column's caller: its role and, for staff, the party that makes the duty.
_CALLERS = {
    "resident": ("resident", None),
    "volunteer": ("volunteer", None),
    "cadre": ("staff", None),
    "social_worker": ("staff", "social_work"),
    "handler": ("staff", "property"),
    "admin": ("admin", None),
    "department": ("department", None),
    "ops": ("ops", None),
}

INTRO = """\
# Who may do what

Generated from the operation table (`lianxin/contracts/*/operations.py`) by
`scripts/permissions.py` — do not edit by hand; a unit test fails when it is not current.

A staff member's duty follows from their role and party: staff without a party are the
center's **cadres** (值班干部, also the hotline clerks); staff of the social-work party are its
**social workers** (社工, who also handle that party's tickets); staff of another party
(物业, 业委会, 村支两委) are that party's **handlers** (责任单位经办人). ✓ admits the caller;
a rule narrows it further, judged by the service on the object acted upon:

- a resident sees and acts on only their own tickets, registrations, bookings and messages;
  a volunteer only their own record, sign-ups, hours and certificates;
- a party's handler (and a social worker, for tickets) sees and works only its own party's
  tickets: the list and the board are filtered to it, another party's ticket answers
  **404** as one that does not exist (detail, timeline, photos and every action alike);
- departments and ops act only for the centers their token grants (`?center=`), and every
  service answers another center's object 404.

"""


def _mark(op: Operation, column: str) -> str:
    if op.internal:
        return "内部"
    if op.roles is None:
        return "公开"
    role, party = _CALLERS[column]
    return "✓" if op.permits(Principal("x", role, ("c",), party)) else ""


def render() -> str:
    """The page, as committed."""
    lines = [INTRO.rstrip("\n"), ""]
    header = ["operation", "说明", *(name for _, name in COLUMNS), "rules"]
    for table in TABLES:
        lines += [f"## {table.service}", ""]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(" --- " for _ in header) + "|")
        for op in table:
            rules = ", ".join(rule.name for rule in op.rules)
            summary = op.summary.replace("|", "／")
            marks = [_mark(op, column) for column, _ in COLUMNS]
            lines.append(f"| `{op.name}` | {summary} | " + " | ".join(marks) + f" | {rules} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    page = render()
    if "--check" in argv:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != page:
            print(f"{PAGE.relative_to(ROOT)} is not current: run scripts/permissions.py")
            return 1
        return 0
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
