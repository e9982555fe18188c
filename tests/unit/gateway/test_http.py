"""Reading a JSON body: what people are told when it is not one, in Chinese, and what passes."""

import re

import pytest
from nameko.containers import ServiceContainer
from nameko.extensions import iter_extensions
from nameko.web.handlers import HttpRequestHandler as NamekoHttpRequestHandler
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.http import HttpProblem, read_json
from gateway.service import GatewayService
from lianxin.web import HttpRequestHandler, WebServer

LIMIT = 64 * 1024
#: Latin letters in a message people read: only the names of formats may appear.
ENGLISH = re.compile(r"[A-Za-z]+")


def request(body: bytes | str, content_type: str | None = "application/json") -> Request:
    data = body.encode() if isinstance(body, str) else body
    return Request(
        EnvironBuilder(method="POST", data=data, content_type=content_type).get_environ()
    )


def refusal(req: Request, empty=None) -> HttpProblem:
    with pytest.raises(HttpProblem) as err:
        read_json(req, LIMIT, empty)
    return err.value


def latin_words(text: str) -> set[str]:
    return set(ENGLISH.findall(text)) - {"JSON", "UTF", "KB", "application", "json"}


def test_a_malformed_body_is_told_in_chinese_with_the_line_and_column():
    problem = refusal(request('{name: "赵先生"}'))
    assert (problem.status, problem.code) == (400, "MALFORMED_JSON")
    assert problem.detail == "请求内容不是有效的 JSON（第 1 行第 2 列附近：属性名应放在双引号中）"
    assert "Expecting" not in problem.detail


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('{"a": 1,\n "b": }', "第 2 行第 7 列附近"),
        ('{"a" 1}', "第 1 行第 6 列附近"),
        ("[1 2]", "第 1 行第 4 列附近"),
        ('{"a": 1} x', "第 1 行第 10 列附近"),
        ('{"a": "unterminated', "第 1 行第 7 列附近"),
        ('{"a": "\\x"}', "第 1 行第 8 列附近"),
        ('{"a": "tab\there"}', "第 1 行第 11 列附近"),
        ("tru", "第 1 行第 1 列附近"),
    ],
)
def test_every_malformed_body_names_where_and_has_no_english(body, where):
    problem = refusal(request(body))
    assert problem.status == 400 and problem.code == "MALFORMED_JSON"
    assert where in problem.detail and problem.detail.startswith("请求内容不是有效的 JSON（")
    assert latin_words(problem.detail) == set(), problem.detail


def test_a_body_that_is_not_utf8_text_is_refused_in_chinese():
    problem = refusal(request(b'{"name": "\xff\xfe"}'))
    assert (problem.status, problem.code) == (400, "MALFORMED_JSON")
    assert problem.detail == "请求内容不是有效的 UTF-8 文本"


def test_a_body_nested_beyond_reason_is_a_400_not_a_crash():
    problem = refusal(request("[" * 20_000))
    assert (problem.status, problem.code) == (400, "MALFORMED_JSON")
    assert "嵌套" in problem.detail


def test_an_empty_body_is_the_default_when_one_is_given_else_a_400():
    assert read_json(request(""), LIMIT, {}) == {}
    assert read_json(request("  \n", content_type="text/plain"), LIMIT, {}) == {}
    problem = refusal(request(""))
    assert (problem.status, problem.code) == (400, "EMPTY_BODY")
    assert problem.detail == "请求内容为空，应为 JSON 对象"


def test_a_body_over_the_limit_is_413_whether_declared_or_not():
    big = '{"description": "' + "长" * LIMIT + '"}'
    problem = refusal(request(big))
    assert (problem.status, problem.code) == (413, "BODY_TOO_LARGE")
    assert problem.detail == "请求内容不能超过 64 KB"

    # A body that declares no length is read only up to the limit, then refused.
    undeclared = request(big)
    undeclared.environ.pop("CONTENT_LENGTH")
    undeclared.environ["wsgi.input_terminated"] = True
    assert refusal(undeclared).status == 413


def test_another_media_type_is_415_and_json_suffixes_are_json():
    problem = refusal(request('{"a": 1}', content_type="text/plain"))
    assert (problem.status, problem.code) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert problem.detail == "请以 application/json 提交"
    assert read_json(request('{"a": 1}', "application/merge-patch+json"), LIMIT) == {"a": 1}
    assert read_json(request('{"a": 1}', "application/json; charset=utf-8"), LIMIT) == {"a": 1}
    assert read_json(request('{"a": 1}', content_type=None), LIMIT) == {"a": 1}


def test_a_valid_body_is_returned_as_it_was_sent():
    body = '{"description": "路灯不亮", "lat": 30.26, "tags": ["夜间"], "urgent": true}'
    assert read_json(request(body), LIMIT) == {
        "description": "路灯不亮",
        "lat": 30.26,
        "tags": ["夜间"],
        "urgent": True,
    }


def test_a_broken_unicode_escape_says_what_belongs_after_it():
    problem = refusal(request('{"name": "\\u12"}'))
    assert problem.status == 400
    assert problem.detail.endswith("第 1 行第 12 列附近：\\u 之后应为四位十六进制数字）")


def test_every_http_entrypoint_of_the_gateway_is_served_without_nagles_delay():
    # One nameko ``@http`` left in the gateway would make a second web server bind the
    # gateway's address at start, and its routes would answer with Nagle's delay.
    container = ServiceContainer(GatewayService, {"AMQP_URI": "memory://"})
    handlers = [e for e in container.entrypoints if isinstance(e, NamekoHttpRequestHandler)]
    assert len(handlers) > 100
    assert all(isinstance(e, HttpRequestHandler) for e in handlers)
    assert {type(x) for e in handlers for x in iter_extensions(e)} == {WebServer}
