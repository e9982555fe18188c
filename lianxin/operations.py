"""Operations: what a service offers over RPC, declared once in its contract.

An :class:`Operation` names the RPC method, the roles that may call it, the rules that
narrow it further (named predicates: a party's handler acts only on its own party's
tickets, a resident only on their own), and the schemas of its payload and answer. The
same declaration is used three times:

- the service checks the caller against it (``principal = self.caller.require(center_id,
  ops.list_tickets)``) and loads the payload with its schema;
- the gateway exposes it with one line (``expose("GET", "/api/v1/tickets",
  ops.list_tickets)``), refusing the wrong role and bad input before spending an RPC;
- the OpenAPI document and the permission tests are made from it.

    from lianxin.operations import Operations
    from lianxin.roles import READERS

    OPERATIONS = Operations("tickets")
    list_tickets = OPERATIONS.add("list_tickets", roles=READERS, query=TicketQuery,
                                  response=TicketList, summary="工单列表")
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema

from lianxin.errors import Forbidden
from lianxin.roles import DUTY_NAMES, ROLE_NAMES, Principal


@dataclass(frozen=True)
class Rule:
    """A named predicate that narrows who may do an operation beyond its roles.

    ``test(principal, target)`` is True when allowed. A rule with ``on_target=False`` is
    judged on the caller alone (``target`` is None), before anything is read; one with
    ``on_target=True`` is judged by the service on the object acted upon, once loaded
    (:meth:`Operation.authorize`). ``refusal`` is what people read when it says no.
    """

    name: str
    test: Callable[[Principal, Any], bool]
    refusal: str
    code: str = "FORBIDDEN"
    on_target: bool = False

    def check(self, principal: Principal, target: Any = None) -> None:
        if not self.test(principal, target):
            raise Forbidden(self.refusal, code=self.code)


@dataclass(frozen=True)
class Operation:
    """One RPC of a service, as callers and the service itself know it."""

    service: str
    #: The RPC method's name (``verb_noun``).
    name: str
    #: Who may call it — roles and duties (``lianxin.roles``); ``None``: anyone, without a
    #: token (public).
    roles: tuple[str, ...] | None
    #: One line people read (OpenAPI summary, Chinese).
    summary: str
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    #: The answer is a list of ``response``.
    many: bool = False
    description: str = ""
    rules: tuple[Rule, ...] = ()
    #: Seconds a caller waits for the answer.
    timeout: float = 10.0
    #: A write of a shared record: the gateway requires ``If-Match`` (428 without) and
    #: passes it as the keyword ``if_match``; the service refuses a stale one (412).
    if_match: bool = False
    #: The answer's part its ``ETag`` is made of, when not all of it (a detail view whose
    #: record is what the PATCH answers with): the fields of this schema.
    etag: type[Schema] | None = None

    #: Called by another service only, never routed by the gateway (``roles`` None: the
    #: bus is the boundary — accounts asking notify to send a code, say).
    internal: bool = False

    @property
    def public(self) -> bool:
        return self.roles is None and not self.internal

    def permits(self, principal: Principal) -> bool:
        """Whether the operation's roles (roles or duties) admit ``principal``."""
        return self.roles is None or principal.admitted_by(self.roles)

    def check_caller(self, principal: Principal) -> None:
        """Refuse a caller whose role, duty or person this operation excludes (target rules
        wait for :meth:`authorize`)."""
        if not self.permits(principal):
            name = DUTY_NAMES.get(principal.duty or "", "") or ROLE_NAMES.get(
                principal.role, principal.role
            )
            raise Forbidden(f"{name}无权执行此操作（{self.summary}）", code="ROLE_FORBIDDEN")
        for rule in self.rules:
            if not rule.on_target:
                rule.check(principal)

    def authorize(self, principal: Principal, target: Any) -> None:
        """Refuse ``principal`` acting on ``target`` where a rule of this operation says no."""
        for rule in self.rules:
            if rule.on_target:
                rule.check(principal, target)

    def __str__(self) -> str:
        return f"{self.service}.{self.name}"


@dataclass
class Operations:
    """The operation table of one service, in declaration order."""

    service: str
    table: dict[str, Operation] = field(default_factory=dict)

    def add(
        self, name: str, *, roles: tuple[str, ...] | None, summary: str, **details: Any
    ) -> Operation:
        """Declare an operation (once)."""
        if name in self.table:
            raise ValueError(f"operation {self.service}.{name} declared twice")
        op = self.table[name] = Operation(self.service, name, roles, summary, **details)
        REGISTRY[str(op)] = op
        return op

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.table.values())

    def __getitem__(self, name: str) -> Operation:
        return self.table[name]


#: Every declared operation, by ``service.name``.
REGISTRY: dict[str, Operation] = {}
