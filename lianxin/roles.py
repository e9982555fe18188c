"""Who may act: the roles of a token, the four parties, the role groups every operation
names, and the one type of the person acting.

Every service and the gateway import these from here — a role group is written once,
so the gateway and a service can never disagree about who may do what.

    from lianxin.roles import STAFF, Principal

    def acknowledge(*, actor: Principal, ...): ...
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The roles a token may carry.
ROLES = ("resident", "volunteer", "staff", "admin", "department", "ops")
#: The center id that grants every center (ops only).
ALL_CENTERS = "*"

#: The four parties a center answers residents' issues through (四方联动). A ``staff``
#: token may name one: a party's handler, who acts only on what is assigned to that party.
PARTIES = ("property", "social_work", "owners_committee", "village_committee")
PARTY_NAMES = {
    "property": "物业公司",
    "social_work": "社工组织",
    "owners_committee": "业主委员会",
    "village_committee": "村支两委",
}

#: A staff member's duty, which follows from their role and party (no token claim of its
#: own, so ``lianxin account add --role staff --party property`` is all it takes):
#: staff without a party are the center's cadres (值班干部: on duty by the roster, also the
#: clerks at the hotline); staff of the social-work party are its social workers (社工), who
#: also handle that party's tickets; staff of another party are that party's handlers.
DUTIES = ("cadre", "social_worker", "handler", "admin")
DUTY_NAMES = {
    "cadre": "值班干部",
    "social_worker": "社工",
    "handler": "责任单位经办人",
    "admin": "中心管理员",
}

#: What people read instead of a role code.
ROLE_NAMES = {
    "resident": "居民",
    "volunteer": "志愿者",
    "staff": "工作人员",
    "admin": "中心管理员",
    "department": "职能部门",
    "ops": "运维人员",
}

# -- role groups (the ``roles`` of an operation) -------------------------------------------

#: The center's own people at work: the cadre on duty, clerks, social workers, handlers.
STAFF = ("staff", "admin")
#: Who configures a center (categories, rooms, templates, roster, keys).
ADMIN = ("admin",)
#: Everyone with an account at a center.
MEMBERS = ("resident", "volunteer", "staff", "admin")
#: Who reads a center's figures and records: its staff, and the departments and ops granted it.
READERS = ("staff", "admin", "department", "ops")
#: Who reads a center's records of people (tickets, agendas): its staff and the departments
#: granted it. Ops reads the figures (satisfaction), not residents' records.
RECORD_READERS = ("staff", "admin", "department")
#: Residents act for themselves; staff for anyone.
RESIDENT_OR_STAFF = ("resident", "staff", "admin")
#: Volunteers act for themselves; staff (social workers) for anyone.
VOLUNTEER_OR_STAFF = ("volunteer", "staff", "admin")
#: At an activity's door: staff, and volunteers helping out (活动协助).
DOOR = ("staff", "admin", "volunteer")
#: Only ops (onboarding centers).
OPS = ("ops",)
#: A group may also name duties (an operation's ``roles`` admit a role or a duty):
#: the cadres and the admin (acknowledge, dispatch, merge, escalate, close).
CADRES = ("cadre", "admin")
#: Who owns the care of people: beneficiaries, visits, shifts, hours approval.
SOCIAL_WORKERS = ("social_worker", "admin")
#: Staff who see the directory and people's files: not a party's handler.
CENTER_STAFF = ("cadre", "social_worker", "admin")


@dataclass(frozen=True)
class Principal:
    """Who acts: the subject of a token (a person id), their role and the centers granted —
    or, with the roles below that no token carries, the system itself (``system``), an
    anonymous web reporter (``public``) or a reporter known only by id (``reporter``)."""

    sub: str | None
    role: str
    centers: tuple[str, ...] = field(default_factory=tuple)
    #: For a party's handler (staff of 物业, 社工, 业委会 or 村支两委): that party.
    party: str | None = None
    #: The signed-in session the token belongs to (what sign-out revokes).
    session: str | None = field(default=None, compare=False)

    @property
    def id(self) -> str | None:
        """The person's id in the directory (the token's ``sub``)."""
        return self.sub

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def duty(self) -> str | None:
        """``cadre``, ``social_worker``, ``handler`` or ``admin`` (None: not staff)."""
        if self.role == "admin":
            return "admin"
        if self.role != "staff":
            return None
        if self.party is None:
            return "cadre"
        return "social_worker" if self.party == "social_work" else "handler"

    def admitted_by(self, roles: tuple[str, ...]) -> bool:
        """Whether a role group (roles and duties) admits this principal."""
        return self.role in roles or (self.duty is not None and self.duty in roles)

    @property
    def center(self) -> str | None:
        """The one center of a single-center token (most users)."""
        return (
            self.centers[0] if len(self.centers) == 1 and self.centers[0] != ALL_CENTERS else None
        )

    def may_act_for(self, center_id: str) -> bool:
        return ALL_CENTERS in self.centers or center_id in self.centers

    @classmethod
    def system(cls) -> Principal:
        """The service itself (a timer, an event handler)."""
        return cls(None, "system")

    @classmethod
    def public(cls) -> Principal:
        """Someone reporting on the web without an account."""
        return cls(None, "public")

    @classmethod
    def person(cls, person_id: str | None, role: str) -> Principal:
        """A person known by id only (a reporter following up with their code, say)."""
        return cls(person_id, role)
