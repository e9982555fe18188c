"""The staff console under ``/console/``: the center's daily work in a browser.

One module per area (its views), its templates beside it; :class:`ConsolePages` puts the
areas' views on the gateway.
"""

from __future__ import annotations

from gateway.web.console.activities import ActivityPages
from gateway.web.console.inbox import InboxPages
from gateway.web.console.intake import IntakePages
from gateway.web.console.meeting import MeetingPages
from gateway.web.console.reports import ReportPages
from gateway.web.console.settings import SettingsPages
from gateway.web.console.stats import StatsPages
from gateway.web.console.tickets import TicketPages
from gateway.web.console.volunteers import VolunteerPages


class ConsolePages(
    TicketPages,
    IntakePages,
    MeetingPages,
    StatsPages,
    ReportPages,
    InboxPages,
    VolunteerPages,
    ActivityPages,
    SettingsPages,
):
    """Every page of the console (see the modules of this package)."""
