"""The residents' and volunteers' phone pages under ``/m/<center>/`` (paths printed on the
center's posters): the center's home, reporting an issue and following it, activities,
messages, the volunteers' shifts, check-in and hours. Each page is one view (gathering what
it shows through the operations the REST API uses) and one template beside it; the layout
is ``layout/phone.html``, the styles ``static/phone.css``, the one script ``static/phone.js``
(photo preview, location with consent, the offline draft, QR scanning — the pages work
without it)."""

from __future__ import annotations

from gateway.web.m.activities import ActivityPages
from gateway.web.m.resident import ResidentPages
from gateway.web.m.volunteer import VolunteerPages


class PhonePages(ResidentPages, ActivityPages, VolunteerPages):
    """Every phone page (see the modules of this package)."""
