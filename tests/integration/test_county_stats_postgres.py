"""The county view's ticket figures on PostgreSQL, the production database: there the median
resolve time is ``percentile_cont`` and the month's sort is given memory (``SET LOCAL
work_mem``), paths SQLite never runs. The unit tests' month of tickets and their checks,
against a migrated PostgreSQL database: each center's line equals its own statistics."""

import pytest

from lianxin.db import make_engine, make_session_factory

# The same checks as on SQLite; pytest collects them here with this module's ``db``.
from tests.unit.reports.test_county_stats import (  # noqa: F401
    month,
    test_each_centers_line_equals_its_own_statistics,
    test_every_center_by_id_and_only_centers_that_exist,
    test_the_figures_are_those_of_the_month,
    with_centers,
)


@pytest.fixture
def db(pg_database, migrated):
    engine = make_engine(migrated("tickets", pg_database()))
    session = with_centers(make_session_factory(engine)())
    yield session
    session.close()
    engine.dispose()
