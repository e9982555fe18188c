"""VolunteersService: entrypoints only — check the caller, validate, call the domain, dump.

Who may do what: staff and admins of a center run its registers, shifts and hours;
a ``volunteer`` token (``sub`` = the person id) sees the shifts and acts only on
its own profile, sign-ups, attendance and correction requests. Beneficiaries'
details are for staff and admins only.
"""

from __future__ import annotations

import base64
import logging
from datetime import timedelta
from typing import Any

import eventlet
from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy
from nameko.timer import timer

from lianxin.auth import Caller
from lianxin.contracts.schema import Page, load
from lianxin.contracts.volunteers import operations as vc
from lianxin.db import Database
from lianxin.errors import EXPECTED
from lianxin.health import HealthCheck
from lianxin.metrics import Metrics
from lianxin.outbox import Outbox
from lianxin.rpc import rpc
from services.volunteers import certificates, domain
from services.volunteers.models import Base, outbox_table

log = logging.getLogger(__name__)

STAFF = ("staff", "admin")
VOLUNTEER_SIDE = ("volunteer", *STAFF)
READERS_OF_TOTALS = (*STAFF, "department", "ops")
#: How often the no-show sweep runs (seconds).
SWEEP_INTERVAL = 60

_page = Page()
_volunteer_read, _volunteer_list = vc.VolunteerRead(), vc.VolunteerList()
_totals, _trainings_brief = vc.VolunteerTotals(), vc.TrainingBrief(many=True)
_training_read, _training_list = vc.TrainingRead(), vc.TrainingList()
_beneficiary_read, _beneficiary_list = vc.BeneficiaryRead(), vc.BeneficiaryList()
_shift_read, _shift_list = vc.ShiftRead(), vc.ShiftList()
_signup_read, _signup_list = vc.SignupRead(), vc.SignupList()
_entry_read, _entry_list = vc.HourEntryRead(), vc.HourList()
_correction_read, _correction_list = vc.CorrectionRead(), vc.CorrectionList()
_visit_read, _visit_list = vc.VisitRead(), vc.VisitList()
_milestones = vc.MilestoneRead(many=True)


def _listing(schema, items, total, query) -> dict[str, Any]:
    return schema.dump({"items": items, "total": total, "limit": query["limit"],
                        "offset": query["offset"]})


class VolunteersService(HealthCheck):
    name = "volunteers"

    db = Database(Base.metadata)
    outbox = Outbox(outbox_table)
    caller = Caller()
    metrics = Metrics()
    config = Config()
    tickets_rpc = RpcProxy("tickets")

    # -- helpers ---------------------------------------------------------------------------

    def _volunteer(self, center_id: str, ref: str | None):
        """The volunteer a request is about: the caller themselves, or (staff) the one named."""
        principal = self.caller.require(center_id, roles=VOLUNTEER_SIDE)
        return principal, domain.volunteer_in_request(db_session=self.db, center_id=center_id,
                                                      principal=principal, ref=ref)

    def _count_signup(self, center_id: str, outcome: str, n: int = 1) -> None:
        self.metrics.counter("lianxin_volunteer_signups_total",
                             "Shift sign-ups by outcome (confirmed, waitlisted, promoted, "
                             "cancelled, no_show)", ["center", "outcome"]
                             ).labels(center_id, outcome).inc(n)

    def _count_hours(self, center_id: str, hours: float) -> None:
        self.metrics.counter("lianxin_volunteer_hours_approved_total",
                             "Verified service hours approved", ["center"]
                             ).labels(center_id).inc(hours)

    # -- volunteers ------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def register_volunteer(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=STAFF)
        volunteer = domain.register_volunteer(db_session=self.db, outbox=self.outbox,
                                              center_id=center_id,
                                              data=load(vc.VolunteerCreate(), payload))
        self.db.commit()
        return _volunteer_read.dump(volunteer)

    @rpc(expected_exceptions=EXPECTED)
    def list_volunteers(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        self.caller.require(center_id, roles=STAFF)
        q = load(vc.VolunteerQuery(), query or {})
        items, total = domain.list_volunteers(db_session=self.db, center_id=center_id, query=q)
        return _listing(_volunteer_list, items, total, q)

    @rpc(expected_exceptions=EXPECTED)
    def get_volunteer(self, center_id: str, volunteer_ref: str) -> dict[str, Any]:
        """Profile, totals (hours, shifts, reliability, milestones) and training records."""
        _principal, volunteer = self._volunteer(center_id, volunteer_ref)
        totals = domain.volunteer_totals(db_session=self.db, volunteer=volunteer)
        trainings = domain.trainings_of(db_session=self.db, volunteer=volunteer)
        return {**_volunteer_read.dump(volunteer), "totals": _totals.dump(totals),
                "trainings": _trainings_brief.dump(trainings)}

    @rpc(expected_exceptions=EXPECTED)
    def update_volunteer(self, center_id: str, volunteer_ref: str,
                         payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=STAFF)
        volunteer = domain.update_volunteer(db_session=self.db, outbox=self.outbox,
                                            center_id=center_id, ref=volunteer_ref,
                                            data=load(vc.VolunteerUpdate(), payload))
        self.db.commit()
        return _volunteer_read.dump(volunteer)

    @rpc(expected_exceptions=EXPECTED)
    def list_volunteer_signups(self, center_id: str, volunteer_ref: str,
                               query: dict[str, Any] | None = None) -> dict[str, Any]:
        """A volunteer's shifts, latest first."""
        _principal, volunteer = self._volunteer(center_id, volunteer_ref)
        q = load(vc.SignupQuery(), query or {})
        items, total = domain.list_signups(db_session=self.db, center_id=center_id, query=q,
                                           volunteer=volunteer)
        return _listing(_signup_list, items, total, q)

    @rpc(expected_exceptions=EXPECTED)
    def list_volunteer_hours(self, center_id: str, volunteer_ref: str,
                             query: dict[str, Any] | None = None) -> dict[str, Any]:
        """A volunteer's hours ledger."""
        _principal, volunteer = self._volunteer(center_id, volunteer_ref)
        q = load(vc.HourQuery(), query or {})
        items, total = domain.list_hours(db_session=self.db, center_id=center_id, query=q,
                                         volunteer=volunteer)
        return _listing(_entry_list, items, total, q)

    @rpc(expected_exceptions=EXPECTED)
    def list_certificates(self, center_id: str, volunteer_ref: str) -> list[dict[str, Any]]:
        _principal, volunteer = self._volunteer(center_id, volunteer_ref)
        totals = domain.volunteer_totals(db_session=self.db, volunteer=volunteer)
        return _milestones.dump(totals["milestones"])

    @rpc(expected_exceptions=EXPECTED)
    def get_certificate(self, center_id: str, volunteer_ref: str,
                        milestone_hours: int) -> dict[str, Any]:
        """The certificate of a milestone reached, as a PDF (base64)."""
        _principal, volunteer = self._volunteer(center_id, volunteer_ref)
        milestone = domain.get_milestone(db_session=self.db, volunteer=volunteer,
                                         milestone_hours=int(milestone_hours))
        cert = certificates.Certificate(
            volunteer_name=volunteer.name, center_name=self._center_name(center_id),
            milestone_hours=milestone.milestone_hours, total_hours=milestone.total_hours,
            reached_at=milestone.reached_at, certificate_no=milestone.certificate_no)
        return {"filename": certificates.filename(cert), "content_type": "application/pdf",
                "data_base64": base64.b64encode(certificates.render_pdf(cert)).decode()}

    def _center_name(self, center_id: str) -> str:
        """The center's name from tickets (which owns centers); a generic title if it is down."""
        try:
            with eventlet.Timeout(5):
                return self.tickets_rpc.get_center(center_id)["name"]
        except (Exception, eventlet.Timeout) as exc:
            log.warning("center name of %s unavailable (%s): using a generic title", center_id, exc)
            return "党群服务中心"

    # -- training records ------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def record_training(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=STAFF)
        training = domain.record_training(db_session=self.db, outbox=self.outbox,
                                          center_id=center_id,
                                          data=load(vc.TrainingCreate(), payload),
                                          recorded_by=principal.sub)
        self.db.commit()
        return _training_read.dump(training)

    @rpc(expected_exceptions=EXPECTED)
    def list_trainings(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        self.caller.require(center_id, roles=STAFF)
        q = load(_page, query or {})
        items, total = domain.list_trainings(db_session=self.db, center_id=center_id, query=q)
        return _listing(_training_list, items, total, q)

    # -- beneficiaries (staff and admins only) ---------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def register_beneficiary(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=STAFF)
        beneficiary = domain.register_beneficiary(db_session=self.db, outbox=self.outbox,
                                                  center_id=center_id,
                                                  data=load(vc.BeneficiaryCreate(), payload))
        self.db.commit()
        return _beneficiary_read.dump(beneficiary)

    @rpc(expected_exceptions=EXPECTED)
    def import_beneficiaries(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=STAFF)
        data = load(vc.BeneficiaryImport(), payload)
        result = domain.import_beneficiaries(db_session=self.db, outbox=self.outbox,
                                             center_id=center_id, items=data["items"])
        self.db.commit()
        return vc.ImportResult().dump(result)

    @rpc(expected_exceptions=EXPECTED)
    def list_beneficiaries(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        self.caller.require(center_id, roles=STAFF)
        q = load(vc.BeneficiaryQuery(), query or {})
        items, total = domain.list_beneficiaries(db_session=self.db, center_id=center_id, query=q)
        return _listing(_beneficiary_list, items, total, q)

    @rpc(expected_exceptions=EXPECTED)
    def get_beneficiary(self, center_id: str, beneficiary_ref: str) -> dict[str, Any]:
        self.caller.require(center_id, roles=STAFF)
        return _beneficiary_read.dump(domain.get_beneficiary(
            db_session=self.db, center_id=center_id, ref=beneficiary_ref))

    @rpc(expected_exceptions=EXPECTED)
    def update_beneficiary(self, center_id: str, beneficiary_ref: str,
                           payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=STAFF)
        beneficiary = domain.update_beneficiary(db_session=self.db, center_id=center_id,
                                                ref=beneficiary_ref,
                                                data=load(vc.BeneficiaryUpdate(), payload))
        self.db.commit()
        return _beneficiary_read.dump(beneficiary)

    @rpc(expected_exceptions=EXPECTED)
    def record_visit(self, center_id: str, beneficiary_ref: str,
                     payload: dict[str, Any]) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=STAFF)
        visit = domain.record_visit(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                    beneficiary_ref=beneficiary_ref,
                                    data=load(vc.VisitCreate(), payload), by=principal.sub)
        self.db.commit()
        self._count_hours(center_id, sum(p.hours for p in visit.participants))
        return _visit_read.dump(visit)

    @rpc(expected_exceptions=EXPECTED)
    def import_visits(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=STAFF)
        data = load(vc.VisitImport(), payload)
        result = domain.import_visits(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                      items=data["items"], by=principal.sub)
        self.db.commit()
        return vc.ImportResult().dump(result)

    @rpc(expected_exceptions=EXPECTED)
    def list_visits(self, center_id: str, beneficiary_ref: str,
                    query: dict[str, Any] | None = None) -> dict[str, Any]:
        self.caller.require(center_id, roles=STAFF)
        q = load(_page, query or {})
        items, total = domain.list_visits(db_session=self.db, center_id=center_id,
                                          beneficiary_ref=beneficiary_ref, query=q)
        return _listing(_visit_list, items, total, q)

    # -- shifts ----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def publish_shift(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=STAFF)
        shift = domain.publish_shift(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                     data=load(vc.ShiftCreate(), payload),
                                     created_by=principal.sub)
        self.db.commit()
        return _shift_read.dump(shift)

    @rpc(expected_exceptions=EXPECTED)
    def list_shifts(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        self.caller.require(center_id, roles=VOLUNTEER_SIDE)
        q = load(vc.ShiftQuery(), query or {})
        items, total = domain.list_shifts(db_session=self.db, center_id=center_id, query=q)
        return _listing(_shift_list, items, total, q)

    @rpc(expected_exceptions=EXPECTED)
    def get_shift(self, center_id: str, shift_ref: str) -> dict[str, Any]:
        self.caller.require(center_id, roles=VOLUNTEER_SIDE)
        return _shift_read.dump(domain.shift_with_counts(db_session=self.db, center_id=center_id,
                                                         ref=shift_ref))

    @rpc(expected_exceptions=EXPECTED)
    def update_shift(self, center_id: str, shift_ref: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=STAFF)
        shift, promoted = domain.update_shift(db_session=self.db, outbox=self.outbox,
                                              center_id=center_id, ref=shift_ref,
                                              data=load(vc.ShiftUpdate(), payload))
        self.db.commit()
        if promoted:
            self._count_signup(center_id, "promoted", len(promoted))
        return _shift_read.dump(shift)

    @rpc(expected_exceptions=EXPECTED)
    def cancel_shift(self, center_id: str, shift_ref: str, payload: dict[str, Any]) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=STAFF)
        shift = domain.cancel_shift(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                    ref=shift_ref, reason=load(vc.ShiftCancel(), payload)["reason"],
                                    by=principal.sub)
        self.db.commit()
        return _shift_read.dump(shift)

    # -- sign-ups --------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def sign_up(self, center_id: str, shift_ref: str,
                payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Sign up for a shift: a place if one is free, else the waitlist."""
        data = load(vc.SignupCreate(), payload or {})
        _principal, volunteer = self._volunteer(center_id, data["volunteer_id"])
        signup = domain.sign_up(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                shift_ref=shift_ref, volunteer=volunteer)
        self.db.commit()
        self._count_signup(center_id, signup.status)
        return _signup_read.dump(signup)

    @rpc(expected_exceptions=EXPECTED)
    def list_shift_signups(self, center_id: str, shift_ref: str,
                           query: dict[str, Any] | None = None) -> dict[str, Any]:
        """Everyone on a shift, in line order (staff); a volunteer sees only their own."""
        principal = self.caller.require(center_id, roles=VOLUNTEER_SIDE)
        q = load(vc.SignupQuery(), query or {})
        shift = domain.get_shift(db_session=self.db, center_id=center_id, ref=shift_ref)
        own = None
        if principal.role == "volunteer":
            own = domain.acting_volunteer(db_session=self.db, center_id=center_id,
                                          principal=principal)
        items, total = domain.list_signups(db_session=self.db, center_id=center_id, query=q,
                                           shift=shift, volunteer=own)
        return _listing(_signup_list, items, total, q)

    @rpc(expected_exceptions=EXPECTED)
    def cancel_signup(self, center_id: str, signup_id: str,
                      payload: dict[str, Any] | None = None) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=VOLUNTEER_SIDE)
        data = load(vc.SignupCancel(), payload or {})
        signup, promoted = domain.cancel_signup(
            db_session=self.db, outbox=self.outbox, center_id=center_id, signup_id=signup_id,
            principal=principal, reason=data["reason"])
        self.db.commit()
        self._count_signup(center_id, "cancelled")
        if promoted:
            self._count_signup(center_id, "promoted", len(promoted))
        return _signup_read.dump(signup)

    # -- attendance ------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def check_in(self, center_id: str, shift_ref: str,
                 payload: dict[str, Any] | None = None) -> dict[str, Any]:
        data = load(vc.AttendanceMark(), payload or {})
        principal, volunteer = self._volunteer(center_id, data["volunteer_id"])
        signup = domain.check_in(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                 shift_ref=shift_ref, volunteer=volunteer, principal=principal,
                                 at=data["at"])
        self.db.commit()
        return _signup_read.dump(signup)

    @rpc(expected_exceptions=EXPECTED)
    def check_out(self, center_id: str, shift_ref: str,
                  payload: dict[str, Any] | None = None) -> dict[str, Any]:
        data = load(vc.AttendanceMark(), payload or {})
        principal, volunteer = self._volunteer(center_id, data["volunteer_id"])
        signup = domain.check_out(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                  shift_ref=shift_ref, volunteer=volunteer, principal=principal,
                                  at=data["at"])
        self.db.commit()
        return _signup_read.dump(signup)

    @rpc(expected_exceptions=EXPECTED)
    def mark_no_show(self, center_id: str, shift_ref: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=STAFF)
        data = load(vc.NoShowMark(), payload)
        volunteer = domain.get_volunteer(db_session=self.db, center_id=center_id,
                                         ref=data["volunteer_id"])
        signup = domain.mark_no_show(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                     shift_ref=shift_ref, volunteer=volunteer)
        self.db.commit()
        self._count_signup(center_id, "no_show")
        return _signup_read.dump(signup)

    @timer(interval=SWEEP_INTERVAL)
    def sweep_finished_shifts(self) -> dict[str, int]:
        """Shifts long over: who never came is a no-show, who forgot to check out is checked
        out at the end (hours pending approval)."""
        grace = timedelta(minutes=int(self.config.get("NO_SHOW_GRACE_MINUTES", 60)))
        counts = domain.sweep_finished_shifts(db_session=self.db, outbox=self.outbox, grace=grace)
        self.db.commit()
        if any(counts.values()):
            log.info("shift sweep: %(no_shows)s no-shows, %(checked_out)s checked out", counts)
        return counts

    # -- hours -----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def list_hours(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """The hours ledger (``status=pending``: the social worker's approval queue)."""
        self.caller.require(center_id, roles=STAFF)
        q = load(vc.HourQuery(), query or {})
        items, total = domain.list_hours(db_session=self.db, center_id=center_id, query=q)
        return _listing(_entry_list, items, total, q)

    @rpc(expected_exceptions=EXPECTED)
    def approve_hours(self, center_id: str, entry_id: str,
                      payload: dict[str, Any] | None = None) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=STAFF)
        data = load(vc.HoursDecision(), payload or {})
        entry = domain.approve_hours(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                     entry_id=entry_id, by=principal.sub, note=data["note"])
        self.db.commit()
        self._count_hours(center_id, entry.hours)
        return _entry_read.dump(entry)

    @rpc(expected_exceptions=EXPECTED)
    def approve_shift_hours(self, center_id: str, shift_ref: str) -> list[dict[str, Any]]:
        """Approve every pending entry of a shift."""
        principal = self.caller.require(center_id, roles=STAFF)
        entries = domain.approve_shift_hours(db_session=self.db, outbox=self.outbox,
                                             center_id=center_id, shift_ref=shift_ref,
                                             by=principal.sub)
        self.db.commit()
        self._count_hours(center_id, sum(e.hours for e in entries))
        return vc.HourEntryRead(many=True).dump(entries)

    @rpc(expected_exceptions=EXPECTED)
    def reject_hours(self, center_id: str, entry_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=STAFF)
        data = load(vc.HoursReject(), payload)
        entry = domain.reject_hours(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                    entry_id=entry_id, by=principal.sub, note=data["note"])
        self.db.commit()
        return _entry_read.dump(entry)

    # -- corrections -----------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def request_correction(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=VOLUNTEER_SIDE)
        correction = domain.request_correction(db_session=self.db, outbox=self.outbox,
                                               center_id=center_id,
                                               data=load(vc.CorrectionCreate(), payload),
                                               principal=principal)
        self.db.commit()
        return _correction_read.dump(correction)

    @rpc(expected_exceptions=EXPECTED)
    def list_corrections(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """Correction requests (staff: all; a volunteer: their own)."""
        principal = self.caller.require(center_id, roles=VOLUNTEER_SIDE)
        q = load(vc.CorrectionQuery(), query or {})
        own = None
        if principal.role == "volunteer":
            own = domain.acting_volunteer(db_session=self.db, center_id=center_id,
                                          principal=principal)
        items, total = domain.list_corrections(db_session=self.db, center_id=center_id, query=q,
                                               volunteer=own)
        return _listing(_correction_list, items, total, q)

    @rpc(expected_exceptions=EXPECTED)
    def approve_correction(self, center_id: str, correction_id: str,
                           payload: dict[str, Any] | None = None) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=STAFF)
        data = load(vc.HoursDecision(), payload or {})
        correction = domain.approve_correction(db_session=self.db, outbox=self.outbox,
                                               center_id=center_id, correction_id=correction_id,
                                               by=principal.sub, note=data["note"])
        self.db.commit()
        self._count_hours(center_id, correction.hours)
        return _correction_read.dump(correction)

    @rpc(expected_exceptions=EXPECTED)
    def reject_correction(self, center_id: str, correction_id: str,
                          payload: dict[str, Any]) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=STAFF)
        data = load(vc.HoursReject(), payload)
        correction = domain.reject_correction(db_session=self.db, outbox=self.outbox,
                                              center_id=center_id, correction_id=correction_id,
                                              by=principal.sub, note=data["note"])
        self.db.commit()
        return _correction_read.dump(correction)

    # -- totals ----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def center_stats(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """Verified hours, participations (person-times) and beneficiaries served in a period."""
        self.caller.require(center_id, roles=READERS_OF_TOTALS)
        q = load(vc.StatsQuery(), query or {})
        return vc.CenterStats().dump(domain.center_stats(
            db_session=self.db, center_id=center_id, date_from=q["date_from"],
            date_to=q["date_to"]))
