"""Rendering message templates: Jinja2, sandboxed, strict about unknown variables.

A template an admin saves is rendered against the message type's sample data at save
time, so a typo (``{{ plcae }}``), a syntax error or an unsafe expression is refused
then, with the reason — never discovered when a message should go out.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime
from typing import Any

from jinja2 import (
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
    meta,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from lianxin.clock import SHANGHAI


class RenderError(Exception):
    """A template that does not render; ``str()`` says why, in Chinese."""


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None
    return None


def local_time(value: Any, fmt: str = "%m月%d日 %H:%M") -> str:
    """A moment as people read it: Asia/Shanghai, minutes (``11月28日 09:30``)."""
    moment = _as_datetime(value)
    if moment is None:
        if isinstance(value, date):
            return value.strftime("%m月%d日")
        return str(value)
    return moment.astimezone(SHANGHAI).strftime(fmt)


def local_hm(value: Any) -> str:
    """Only the clock time, Asia/Shanghai (``11:00``)."""
    return local_time(value, "%H:%M")


def local_date(value: Any) -> str:
    return local_time(value, "%Y年%m月%d日")


def _env() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(local_time=local_time, local_hm=local_hm, local_date=local_date)
    return env


ENV = _env()


@functools.lru_cache(maxsize=2048)
def compiled(source: str) -> Template:
    """A template string compiled once (templates are few; messages are many)."""
    return ENV.from_string(source)


@functools.lru_cache(maxsize=2048)
def variables(source: str) -> frozenset[str]:
    """The variables a template string reads (``{{ recipient_name }}`` → ``recipient_name``);
    a template that does not parse reads everything, as far as callers need to know."""
    try:
        return frozenset(meta.find_undeclared_variables(ENV.parse(source)))
    except TemplateError:
        return frozenset({"*"})


def reads_any(names: frozenset[str], *sources: str) -> bool:
    """Whether any of ``sources`` reads one of ``names`` (or does not parse)."""
    return any(variables(s) & names or "*" in variables(s) for s in sources)


def render(source: str, context: dict[str, Any]) -> str:
    """Render one template string; raises :class:`RenderError` with a readable reason."""
    try:
        return compiled(source).render(context).strip()
    except TemplateError as exc:
        raise RenderError(describe(exc)) from None
    except (TypeError, ValueError, ArithmeticError, AttributeError, KeyError, IndexError) as exc:
        raise RenderError(f"模板渲染出错：{_DATA_ERRORS.get(type(exc), '取不到该数据')}") from None


#: What a Python error while rendering means to whoever wrote the template.
_DATA_ERRORS: dict[type, str] = {
    TypeError: "数据类型不匹配",
    ValueError: "取值无效",
    ZeroDivisionError: "除数为零",
    OverflowError: "数值过大",
}

#: Jinja's syntax errors (English) as an admin reads them: (pattern, Chinese).
_SYNTAX = (
    (re.compile(r"No filter named '([^']+)'"), "没有名为 {} 的过滤器"),
    (re.compile(r"No test named '([^']+)'"), "没有名为 {} 的判断"),
    (re.compile(r"Encountered unknown tag '([^']+)'"), "未知的标签：{}"),
    (
        re.compile(r"unexpected end of template", re.I),
        "模板意外结束，有未闭合的 {{{{ }}}} 或 {{% %}}",
    ),
    (re.compile(r"Expected an expression"), "缺少表达式"),
    (re.compile(r"unexpected '([^']+)'"), "多余的“{}”"),
)


def _first(patterns: Any, text: str) -> str | None:
    for pattern, words in patterns:
        found = pattern.search(text)
        if found:
            return str(words.format(*found.groups()))
    return None


def describe(exc: TemplateError) -> str:
    """A template error in words an admin can act on (Jinja's own are English)."""
    text = exc.message or ""
    if isinstance(exc, TemplateSyntaxError):
        detail = _first(_SYNTAX, text) or "请检查 {{ }} 与 {% %} 是否成对、写法是否正确"
        return f"模板语法错误（第 {exc.lineno} 行）：{detail}"
    if isinstance(exc, UndefinedError):
        unknown = re.match(r"^'([^']+)' is undefined$", text)
        if unknown:
            return f"模板中使用了未知的变量：{unknown.group(1)}"
        attribute = re.search(r"has no (?:attribute|item|element) '?([^']+?)'?$", text)
        if attribute:
            return f"模板中使用了未知的属性：{attribute.group(1)}"
        return "模板中使用了未知的变量"
    if isinstance(exc, SecurityError):
        attribute = re.search(r"attribute '([^']+)'", text)
        what = f"：访问 {attribute.group(1)}" if attribute else ""
        return f"模板包含不允许的操作{what}"
    return "模板无法渲染"
