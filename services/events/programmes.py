"""The center's standing programmes (项目, such as 悦动耄耋) that activities belong to."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxin.contracts.events.operations import NewProgramme
from services.events.exceptions import InvalidProgramme, ProgrammeConflict
from services.events.models import Programme


def add_programme(*, db_session: Session, center_id: str, data: NewProgramme) -> Programme:
    """Add a standing programme to the center."""
    if db_session.get(Programme, (center_id, data.code)) is not None:
        raise ProgrammeConflict(fields={"code": ["该项目编码已存在"]})
    programme = Programme(center_id=center_id, **asdict(data))
    db_session.add(programme)
    return programme


def list_programmes(*, db_session: Session, center_id: str) -> list[Programme]:
    """A center's programmes, by code."""
    return list(
        db_session.scalars(
            select(Programme).where(Programme.center_id == center_id).order_by(Programme.code)
        )
    )


def require_programme(db_session: Session, center_id: str, code: str | None) -> None:
    """Refuse a programme the center does not have (None: no programme)."""
    if code and db_session.get(Programme, (center_id, code)) is None:
        raise InvalidProgramme(fields={"programme": ["该服务中心没有此项目"]})
