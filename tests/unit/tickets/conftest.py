import pytest

from lianxin.db import make_engine, make_session_factory
from lianxin.outbox import OutboxWriter
from services.tickets import domain
from services.tickets.models import Base, outbox_table


@pytest.fixture
def db(sqlite_url, migrated):
    """A session on a migrated tickets database with the demo center and two categories."""
    engine = make_engine(migrated("tickets", sqlite_url("tickets")))
    session = make_session_factory(engine)()
    domain.create_center(db_session=session, data={"id": "yanminghu", "name": "雁鸣湖镇镇区社区党群服务中心",
                                                  "address": "", "timezone": "Asia/Shanghai"})
    domain.create_center(db_session=session, data={"id": "fenghuangtai", "name": "凤凰台街道党群服务中心",
                                                  "address": "", "timezone": "Asia/Shanghai"})
    for center in ("yanminghu", "fenghuangtai"):
        domain.add_category(db_session=session, center_id=center, data={
            "code": "sanitation", "name": "环境卫生", "party": "property", "ack_minutes": 10,
            "resolve_hours": 24})
    domain.add_category(db_session=session, center_id="yanminghu", data={
        "code": "elderly_care", "name": "独居老人帮扶", "party": "social_work", "ack_minutes": 10,
        "resolve_hours": 48})
    session.commit()
    yield session
    session.close()
    engine.dispose()


@pytest.fixture
def outbox(db):
    return OutboxWriter(db, outbox_table)


assert Base  # the metadata the migrations must match
