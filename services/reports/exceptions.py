"""What the reports service refuses, in Chinese (the kit's kinds carry the HTTP status)."""

from __future__ import annotations

from lianxin.errors import InvalidInput


class InvalidMonth(InvalidInput):
    code = "INVALID_MONTH"
    default_detail = "月份应写作 YYYY-MM，如 2026-11"


class MonthInFuture(InvalidInput):
    code = "MONTH_IN_FUTURE"
    default_detail = "该月份尚未到来，没有报告"


class MonthBeforeCenter(InvalidInput):
    code = "MONTH_BEFORE_CENTER"
    default_detail = "该月份服务中心尚未开通，没有报告"


class UnknownFormat(InvalidInput):
    code = "UNKNOWN_FORMAT"
    default_detail = "报告格式应为 pdf 或 xlsx"
