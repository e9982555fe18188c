"""HTTP plumbing of the gateway: JSON in, JSON or problem+json out."""

from __future__ import annotations

import json
import logging
from typing import Any

from werkzeug.wrappers import Request, Response

from lianxin.errors import LianxinError

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
JSON = "application/json"
PROBLEM_BASE = "https://lianxin.cn/problems/"

#: Error kind → HTTP status: the one table that maps errors to HTTP.
STATUS = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "unauthenticated": 401,
    "rate_limited": 429,
    "precondition_failed": 412,
    "precondition_required": 428,
    "unavailable": 503,
    "error": 400,
}

TITLES = {
    400: "请求有误",
    401: "需要登录",
    403: "无权访问",
    404: "找不到资源",
    405: "不支持的请求方法",
    409: "数据冲突",
    412: "记录已被修改",
    413: "请求内容过大",
    415: "不支持的内容类型",
    422: "输入有误",
    428: "缺少前提条件",
    429: "请求过于频繁",
    500: "服务器内部错误",
    502: "后端服务出错",
    503: "服务暂不可用",
    504: "后端服务超时",
}


class HttpProblem(Exception):
    """An HTTP-level refusal raised inside the gateway (bad JSON, body too large ...)."""

    def __init__(
        self,
        status: int,
        detail: str,
        code: str,
        fields: dict | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status, self.detail, self.code = status, detail, code
        self.fields = fields or {}
        self.headers = headers or {}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        mimetype=JSON,
        headers=headers,
    )


def problem(
    status: int,
    detail: str,
    code: str,
    fields: dict | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code.lower().replace("_", "-"),
        "title": TITLES.get(status, "请求无法处理"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if fields:
        body["errors"] = fields
    if instance:
        body["instance"] = instance
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM, headers=headers
    )


def render_error(render, exc: LianxinError, instance: str | None = None) -> Response:
    """Answer a kit error with ``render`` (problem+json, Open311 ...), status from its kind."""
    status = STATUS.get(exc.kind, 400)
    headers = {}
    if status in (429, 503) and "retry_after" in exc.extra:
        headers["Retry-After"] = str(exc.extra["retry_after"])
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="lianxin"'
    return render(status, exc.detail, exc.code, exc.fields, headers, instance)


def read_json(request: Request, max_bytes: int, empty: Any = None) -> Any:
    """The request's JSON body, refusing what is too large, not JSON, or malformed.

    An empty body is ``empty`` when given (a body whose fields are all optional), else a 400.
    """
    length = request.content_length
    if length is not None and length > max_bytes:
        raise HttpProblem(413, f"请求内容不能超过 {max_bytes // 1024} KB", "BODY_TOO_LARGE")
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise HttpProblem(413, f"请求内容不能超过 {max_bytes // 1024} KB", "BODY_TOO_LARGE")
    if not raw.strip():
        # Checked before the media type: a server may report text/plain for no body at all.
        if empty is not None:
            return empty
        raise HttpProblem(400, "请求内容为空，应为 JSON 对象", "EMPTY_BODY")
    mimetype = request.mimetype or ""
    if mimetype and mimetype != JSON and not mimetype.endswith("+json"):
        raise HttpProblem(415, "请以 application/json 提交", "UNSUPPORTED_MEDIA_TYPE")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise HttpProblem(400, malformed_json(exc), "MALFORMED_JSON") from None
    except UnicodeDecodeError:
        raise HttpProblem(400, "请求内容不是有效的 UTF-8 文本", "MALFORMED_JSON") from None
    except RecursionError:
        # A body of nothing but "[[[[…" is valid up to Python's recursion limit only.
        raise HttpProblem(400, "请求内容嵌套层数过多", "MALFORMED_JSON") from None


#: What the JSON decoder's messages (English, from the standard library) say, in Chinese.
_JSON_ERRORS = {
    "Expecting property name enclosed in double quotes": "属性名应放在双引号中",
    "Expecting value": "此处应为一个值",
    "Expecting ',' delimiter": "此处缺少逗号",
    "Expecting ':' delimiter": "此处缺少冒号",
    "Extra data": "JSON 之后还有多余的内容",
    "Unterminated string starting at": "字符串缺少结尾的引号",
    "Invalid control character at": "字符串中有未转义的控制字符",
    "Invalid \\escape": "无效的转义字符",
    "Invalid \\uXXXX escape": "\\u 之后应为四位十六进制数字",
    "Illegal trailing comma before end of object": "对象末尾多了逗号",
    "Illegal trailing comma before end of array": "数组末尾多了逗号",
}


def malformed_json(exc: json.JSONDecodeError) -> str:
    """Where a body stops being JSON, and why when the reason is a known one — in Chinese."""
    where = f"第 {exc.lineno} 行第 {exc.colno} 列附近"
    reason = _JSON_ERRORS.get(exc.msg)
    return f"请求内容不是有效的 JSON（{where}{'：' + reason if reason else ''}）"
