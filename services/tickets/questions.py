"""A category's questions (Open311 attributes: 设施类型, 楼层 …) and the answers a report gives
them: required ones present, list answers among the choices, numbers numeric."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lianxin.errors import InvalidInput


def _answer_error(attr: dict[str, Any], value: Any) -> list[str] | None:
    """What is wrong with one given answer to a category's question, if anything."""
    keys = {v["key"] for v in attr.get("values") or []}
    values = value if isinstance(value, list) else [value]
    if attr.get("datatype") in ("singlevaluelist", "multivaluelist") and any(
        str(v) not in keys for v in values
    ):
        return [f"应为以下之一：{', '.join(sorted(keys))}"]
    if attr.get("datatype") == "number":
        try:
            float(value)
        except (TypeError, ValueError):
            return ["应为数字"]
    return None


def check_attributes(questions: Sequence[dict[str, Any]], given: dict[str, Any]) -> dict[str, Any]:
    """Answers to a category's questions: required ones present, list answers known; the
    empty ones dropped."""
    defined = {a["code"]: a for a in questions}
    errors: dict[str, list[str]] = {
        code: ["该类别没有这个问题"] for code in given if code not in defined
    }
    for code, attr in defined.items():
        value = given.get(code)
        if value in (None, "", []):
            if attr.get("required"):
                errors[code] = [f"必填：{attr['description']}"]
            continue
        problem = _answer_error(attr, value)
        if problem:
            errors[code] = problem
    if errors:
        raise InvalidInput(fields={"attributes": errors})
    return {k: v for k, v in given.items() if v not in (None, "", [])}
