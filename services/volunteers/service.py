"""VolunteersService: entrypoints only — require the operation, load, call the domain, commit,
dump.

Who may do what is the operation table (``lianxin.contracts.volunteers.operations``): staff
and admins of a center run its registers, shifts and hours; a ``volunteer`` token (``sub`` =
the person id) sees the shifts and acts only on its own record, sign-ups, attendance and
correction requests (the ``OWN_RECORD`` / ``OWN_SIGNUP`` rules, judged once the record is
found). Beneficiaries' details are for staff and admins only.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from nameko.dependency_providers import Config

from lianxin.auth import Caller
from lianxin.centers import CenterScoped, KnownCenters
from lianxin.concurrency import if_match_guard
from lianxin.consumer import event_handler
from lianxin.contracts.schema import dump, dump_page, load
from lianxin.contracts.tickets import events as centers_events
from lianxin.contracts.volunteers import operations as ops
from lianxin.db import Database
from lianxin.errors import LianxinError
from lianxin.health import HealthCheck
from lianxin.housekeeping import Housekeeping
from lianxin.metrics import Metrics
from lianxin.operations import Operation
from lianxin.outbox import Outbox
from lianxin.roles import Principal
from lianxin.rpc import rpc
from lianxin.timer import timer
from lianxin.tracing import Tracing
from services.volunteers import (
    attendance,
    beneficiaries,
    care_files,
    certificates,
    corrections,
    hours,
    registers,
    shifts,
    signups,
    totals,
    verification,
    visits,
)
from services.volunteers.exceptions import VolunteerNotFound
from services.volunteers.metrics import HOURS_APPROVED, SIGNUPS
from services.volunteers.models import Base, Volunteer, outbox_table

log = logging.getLogger(__name__)


class VolunteersService(CenterScoped, HealthCheck):
    name = "volunteers"

    db = Database(Base.metadata)
    outbox = Outbox(outbox_table)
    housekeeping = Housekeeping()
    caller = Caller()
    centers = KnownCenters()
    metrics = Metrics()
    tracing = Tracing()
    config = Config()

    # -- helpers ---------------------------------------------------------------------------

    def _volunteer(
        self, center_id: str, op: Operation, ref: str | None
    ) -> tuple[Principal, Volunteer]:
        """The caller, and the volunteer a request is about: the caller themselves, or (staff)
        the one named — if ``op``'s rules let the caller act on them."""
        principal = self.require(center_id, op)
        volunteer = registers.named_volunteer(
            db_session=self.db, center_id=center_id, principal=principal, ref=ref
        )
        op.authorize(principal, volunteer)
        if volunteer is None:
            raise VolunteerNotFound()
        return principal, volunteer

    def _own(self, center_id: str, principal: Principal) -> Volunteer | None:
        """A volunteer's own record (what they may see of a list); None for staff (everyone)."""
        if principal.role != "volunteer":
            return None
        return registers.acting_volunteer(
            db_session=self.db, center_id=center_id, principal=principal
        )

    def _count_signups(self, center_id: str, outcome: str, n: int = 1) -> None:
        if n:
            self.metrics.get(SIGNUPS).labels(center_id, outcome).inc(n)

    def _count_approved(self, center_id: str, minutes: int) -> None:
        self.metrics.get(HOURS_APPROVED).labels(center_id).inc(minutes / 60)

    def _center_name(self, center_id: str) -> str:
        """The center's name from tickets (which owns centers); a generic title if it is down."""
        try:
            return str(self.centers.require(center_id)["name"])
        except LianxinError as exc:
            log.warning("center name of %s unavailable (%s): using a generic title", center_id, exc)
            return "党群服务中心"

    # -- centers: what the registry keeps (tickets owns centers; nothing to copy here) -------

    @event_handler("tickets", centers_events.CENTER_CREATED)
    def handle_center_created(self, event: dict[str, Any]) -> None:
        self.learn_center(event)

    @event_handler("tickets", centers_events.CENTER_UPDATED)
    def handle_center_updated(self, event: dict[str, Any]) -> None:
        self.learn_center(event)

    # -- volunteers ------------------------------------------------------------------------

    @rpc
    def register_volunteer(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.require(center_id, ops.register_volunteer)
        volunteer = registers.register_volunteer(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            data=load(ops.VolunteerCreate, payload),
        )
        self.db.commit()
        return dump(ops.VolunteerRead, volunteer)

    @rpc
    def list_volunteers(
        self, center_id: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self.require(center_id, ops.list_volunteers)
        q = load(ops.VolunteerQuery, query or {})
        items, total = registers.list_volunteers(db_session=self.db, center_id=center_id, query=q)
        return dump_page(ops.VolunteerList, items, total, q)

    @rpc
    def get_volunteer(self, center_id: str, volunteer_ref: str) -> dict[str, Any]:
        """Profile, totals (hours, shifts, reliability, milestones) and training records."""
        _principal, volunteer = self._volunteer(center_id, ops.get_volunteer, volunteer_ref)
        record = totals.volunteer_totals(db_session=self.db, volunteer=volunteer)
        trainings = registers.trainings_of(db_session=self.db, volunteer=volunteer)
        return {
            **dump(ops.VolunteerRead, volunteer),
            "totals": dump(ops.VolunteerTotals, record),
            "trainings": dump(ops.TrainingBrief, trainings, many=True),
        }

    @rpc
    def update_volunteer(
        self,
        center_id: str,
        volunteer_ref: str,
        payload: dict[str, Any],
        if_match: str | None = None,
    ) -> dict[str, Any]:
        self.require(center_id, ops.update_volunteer)
        volunteer = registers.update_volunteer(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            ref=volunteer_ref,
            data=load(ops.VolunteerUpdate, payload),
            guard=if_match_guard(if_match, lambda row: dump(ops.VolunteerRead, row)),
        )
        self.db.commit()
        return dump(ops.VolunteerRead, volunteer)

    @rpc
    def list_volunteer_signups(
        self, center_id: str, volunteer_ref: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A volunteer's shifts, latest first."""
        _principal, volunteer = self._volunteer(
            center_id, ops.list_volunteer_signups, volunteer_ref
        )
        q = load(ops.SignupQuery, query or {})
        items, total = signups.list_signups(
            db_session=self.db, center_id=center_id, query=q, volunteer=volunteer
        )
        return dump_page(ops.SignupList, items, total, q)

    @rpc
    def list_volunteer_hours(
        self, center_id: str, volunteer_ref: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A volunteer's hours ledger."""
        _principal, volunteer = self._volunteer(center_id, ops.list_volunteer_hours, volunteer_ref)
        q = load(ops.HourQuery, query or {})
        items, total = hours.list_hours(
            db_session=self.db, center_id=center_id, query=q, volunteer=volunteer
        )
        return dump_page(ops.HourList, items, total, q)

    @rpc
    def list_certificates(self, center_id: str, volunteer_ref: str) -> list[dict[str, Any]]:
        _principal, volunteer = self._volunteer(center_id, ops.list_certificates, volunteer_ref)
        record = totals.volunteer_totals(db_session=self.db, volunteer=volunteer)
        return dump(ops.MilestoneRead, record["milestones"], many=True)

    @rpc
    def get_certificate(
        self, center_id: str, volunteer_ref: str, milestone_hours: int
    ) -> dict[str, Any]:
        """The certificate of a milestone reached, as a PDF (base64)."""
        _principal, volunteer = self._volunteer(center_id, ops.get_certificate, volunteer_ref)
        milestone = certificates.get_milestone(
            db_session=self.db,
            volunteer=volunteer,
            milestone_hours=certificates.milestone_hours_of(milestone_hours),
        )
        cert = certificates.certificate_of(
            volunteer,
            milestone,
            self._center_name(center_id),
            str(self.config.get("PUBLIC_URL") or ""),
        )
        return dump(
            ops.CertificateFile,
            {
                "filename": certificates.filename(cert),
                "content_type": "application/pdf",
                "data_base64": base64.b64encode(certificates.render_pdf(cert)).decode(),
            },
        )

    @rpc
    def verify_certificate(self, code: str) -> dict[str, Any]:
        """Anyone: whether ``code`` is a certificate's verification code, and if so for whom
        (name masked), how many hours, when and where — never contact data."""
        milestone, volunteer = verification.find_certificate(
            db_session=self.db, code=verification.normalize(code)
        )
        return dump(
            ops.CertificateCheck,
            {
                "genuine": True,
                "code": verification.display(milestone.verify_code),
                "certificate_no": milestone.certificate_no,
                "volunteer_name": verification.mask_name(volunteer.name),
                "milestone_hours": milestone.milestone_hours,
                "total_hours": milestone.total_hours,
                "verified_hours_now": volunteer.verified_hours,
                "reached_at": milestone.reached_at,
                "center_id": milestone.center_id,
                "center_name": self._center_name(milestone.center_id),
            },
        )

    # -- training records ------------------------------------------------------------------

    @rpc
    def record_training(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        principal = self.require(center_id, ops.record_training)
        training = registers.record_training(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            data=load(ops.TrainingCreate, payload),
            recorded_by=principal.id,
        )
        self.db.commit()
        return dump(ops.TrainingRead, training)

    @rpc
    def list_trainings(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        self.require(center_id, ops.list_trainings)
        q = load(ops.Page, query or {})
        items, total = registers.list_trainings(db_session=self.db, center_id=center_id, query=q)
        return dump_page(ops.TrainingList, items, total, q)

    # -- beneficiaries (staff and admins only) ---------------------------------------------

    @rpc
    def register_beneficiary(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.require(center_id, ops.register_beneficiary)
        beneficiary = beneficiaries.register_beneficiary(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            data=load(ops.BeneficiaryCreate, payload),
        )
        self.db.commit()
        return dump(ops.BeneficiaryRead, beneficiary)

    @rpc
    def import_beneficiaries(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.require(center_id, ops.import_beneficiaries)
        data = load(ops.BeneficiaryImport, payload)
        result = beneficiaries.import_beneficiaries(
            db_session=self.db, outbox=self.outbox, center_id=center_id, items=data["items"]
        )
        self.db.commit()
        return dump(ops.ImportResult, result)

    @rpc
    def list_beneficiaries(
        self, center_id: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self.require(center_id, ops.list_beneficiaries)
        q = load(ops.BeneficiaryQuery, query or {})
        items, total = beneficiaries.list_beneficiaries(
            db_session=self.db, center_id=center_id, query=q
        )
        return dump_page(ops.BeneficiaryList, items, total, q)

    @rpc
    def get_beneficiary(self, center_id: str, beneficiary_ref: str) -> dict[str, Any]:
        self.require(center_id, ops.get_beneficiary)
        return dump(
            ops.BeneficiaryRead,
            beneficiaries.get_beneficiary(
                db_session=self.db, center_id=center_id, ref=beneficiary_ref
            ),
        )

    @rpc
    def update_beneficiary(
        self, center_id: str, beneficiary_ref: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        self.require(center_id, ops.update_beneficiary)
        beneficiary = beneficiaries.update_beneficiary(
            db_session=self.db,
            center_id=center_id,
            ref=beneficiary_ref,
            data=load(ops.BeneficiaryUpdate, payload),
        )
        self.db.commit()
        return dump(ops.BeneficiaryRead, beneficiary)

    # -- the visit log ---------------------------------------------------------------------

    @rpc
    def record_visit(
        self, center_id: str, beneficiary_ref: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.record_visit)
        visit = visits.record_visit(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            beneficiary_ref=beneficiary_ref,
            data=load(ops.VisitCreate, payload),
            by=principal.id,
        )
        self.db.commit()
        self._count_approved(center_id, sum(p.minutes for p in visit.participants))
        return dump(ops.VisitRead, visit)

    @rpc
    def import_visits(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        principal = self.require(center_id, ops.import_visits)
        data = load(ops.VisitImport, payload)
        result = visits.import_visits(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            items=data["items"],
            by=principal.id,
        )
        self.db.commit()
        return dump(ops.ImportResult, result)

    @rpc
    def list_visits(
        self, center_id: str, beneficiary_ref: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self.require(center_id, ops.list_visits)
        q = load(ops.Page, query or {})
        items, total = visits.list_visits(
            db_session=self.db, center_id=center_id, beneficiary_ref=beneficiary_ref, query=q
        )
        return dump_page(ops.VisitList, items, total, q)

    # -- the care file ---------------------------------------------------------------------

    @rpc
    def read_care_file(self, center_id: str, beneficiary_ref: str) -> dict[str, Any]:
        """The record, visits and next planned visit; the opening is logged (who, when)."""
        principal = self.require(center_id, ops.read_care_file)
        record = care_files.read_care_file(
            db_session=self.db, center_id=center_id, ref=beneficiary_ref, reader=principal
        )
        self.db.commit()
        return dump(ops.CareFileRecord, record)

    @rpc
    def link_beneficiary_person(
        self, center_id: str, beneficiary_ref: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.link_beneficiary_person)
        data = load(ops.PersonLink, payload)
        beneficiary = care_files.link_person(
            db_session=self.db,
            center_id=center_id,
            ref=beneficiary_ref,
            person_id=data["person_id"],
            linked_by=principal.id,
        )
        self.db.commit()
        return dump(ops.BeneficiaryRead, beneficiary)

    @rpc
    def list_care_file_access(
        self, center_id: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self.require(center_id, ops.list_care_file_access)
        q = load(ops.CareFileAccessQuery, query or {})
        items, total = care_files.list_access(
            db_session=self.db,
            center_id=center_id,
            beneficiary_ref=q.get("beneficiary_id"),
            limit=q["limit"],
            offset=q["offset"],
        )
        return dump_page(ops.CareFileAccessList, items, total, q)

    # -- shifts ----------------------------------------------------------------------------

    @rpc
    def publish_shift(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        principal = self.require(center_id, ops.publish_shift)
        shift = shifts.publish_shift(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            data=load(ops.ShiftCreate, payload),
            created_by=principal.id,
        )
        self.db.commit()
        return dump(ops.ShiftRead, shift)

    @rpc
    def list_shifts(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        self.require(center_id, ops.list_shifts)
        q = load(ops.ShiftQuery, query or {})
        items, total = shifts.list_shifts(db_session=self.db, center_id=center_id, query=q)
        return dump_page(ops.ShiftList, items, total, q)

    @rpc
    def get_shift(self, center_id: str, shift_ref: str) -> dict[str, Any]:
        self.require(center_id, ops.get_shift)
        return dump(
            ops.ShiftRead,
            shifts.shift_with_counts(db_session=self.db, center_id=center_id, ref=shift_ref),
        )

    @rpc
    def update_shift(
        self, center_id: str, shift_ref: str, payload: dict[str, Any], if_match: str | None = None
    ) -> dict[str, Any]:
        self.require(center_id, ops.update_shift)
        shift, promoted = shifts.update_shift(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            ref=shift_ref,
            data=load(ops.ShiftUpdate, payload),
            guard=if_match_guard(if_match, lambda row: dump(ops.ShiftRead, row)),
        )
        self.db.commit()
        self._count_signups(center_id, "promoted", len(promoted))
        return dump(ops.ShiftRead, shift)

    @rpc
    def cancel_shift(
        self, center_id: str, shift_ref: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.cancel_shift)
        shift = shifts.cancel_shift(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            ref=shift_ref,
            reason=load(ops.ShiftCancel, payload)["reason"],
            by=principal.id,
        )
        self.db.commit()
        return dump(ops.ShiftRead, shift)

    # -- sign-ups --------------------------------------------------------------------------

    @rpc
    def sign_up(
        self, center_id: str, shift_ref: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Sign up for a shift: a place if one is free, else the waitlist."""
        data = load(ops.SignupCreate, payload or {})
        _principal, volunteer = self._volunteer(center_id, ops.sign_up, data["volunteer_id"])
        signup = signups.sign_up(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            shift_ref=shift_ref,
            volunteer=volunteer,
        )
        self.db.commit()
        self._count_signups(center_id, signup.status)
        return dump(ops.SignupRead, signup)

    @rpc
    def list_shift_signups(
        self, center_id: str, shift_ref: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Everyone on a shift, in line order (staff); a volunteer sees only their own."""
        principal = self.require(center_id, ops.list_shift_signups)
        q = load(ops.SignupQuery, query or {})
        shift = shifts.get_shift(db_session=self.db, center_id=center_id, ref=shift_ref)
        items, total = signups.list_signups(
            db_session=self.db,
            center_id=center_id,
            query=q,
            shift=shift,
            volunteer=self._own(center_id, principal),
        )
        return dump_page(ops.SignupList, items, total, q)

    @rpc
    def cancel_signup(
        self, center_id: str, signup_id: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.cancel_signup)
        data = load(ops.SignupCancel, payload or {})
        signup = signups.get_signup(db_session=self.db, center_id=center_id, signup_id=signup_id)
        ops.cancel_signup.authorize(principal, signup)
        signup, promoted = signups.cancel_signup(
            db_session=self.db,
            outbox=self.outbox,
            signup=signup,
            actor=principal,
            reason=data["reason"],
        )
        self.db.commit()
        self._count_signups(center_id, "cancelled")
        self._count_signups(center_id, "promoted", len(promoted))
        return dump(ops.SignupRead, signup)

    # -- attendance ------------------------------------------------------------------------

    def _attend(
        self,
        op: Operation,
        mark: Callable[..., Any],
        center_id: str,
        shift_ref: str,
        payload: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Check-in and check-out alike: the volunteer (themselves, or named by staff) at
        the shift, at the moment the payload names or now."""
        data = load(ops.AttendanceMark, payload or {})
        principal, volunteer = self._volunteer(center_id, op, data["volunteer_id"])
        signup = mark(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            shift_ref=shift_ref,
            volunteer=volunteer,
            actor=principal,
            at=data["at"],
        )
        self.db.commit()
        return dump(ops.SignupRead, signup)

    @rpc
    def check_in(
        self, center_id: str, shift_ref: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return self._attend(ops.check_in, attendance.check_in, center_id, shift_ref, payload)

    @rpc
    def check_out(
        self, center_id: str, shift_ref: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return self._attend(ops.check_out, attendance.check_out, center_id, shift_ref, payload)

    @rpc
    def mark_no_show(
        self, center_id: str, shift_ref: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        self.require(center_id, ops.mark_no_show)
        data = load(ops.NoShowMark, payload)
        volunteer = registers.get_volunteer(
            db_session=self.db, center_id=center_id, ref=data["volunteer_id"]
        )
        signup = attendance.mark_no_show(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            shift_ref=shift_ref,
            volunteer=volunteer,
        )
        self.db.commit()
        self._count_signups(center_id, "no_show")
        return dump(ops.SignupRead, signup)

    @timer("SHIFT_SWEEP_SECONDS", default=60)
    def sweep_finished_shifts(self) -> dict[str, int]:
        """Shifts long over: who never came is a no-show, who forgot to check out is checked
        out at the end (hours pending approval)."""
        grace = timedelta(minutes=int(self.config.get("NO_SHOW_GRACE_MINUTES", 60)))
        counts = attendance.sweep_finished_shifts(
            db_session=self.db, outbox=self.outbox, grace=grace
        )
        self.db.commit()
        if any(counts.values()):
            log.info("shift sweep: %(no_shows)s no-shows, %(checked_out)s checked out", counts)
        return counts

    # -- hours -----------------------------------------------------------------------------

    @rpc
    def list_hours(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """The hours ledger (``status=pending``: the social worker's approval queue)."""
        self.require(center_id, ops.list_hours)
        q = load(ops.HourQuery, query or {})
        items, total = hours.list_hours(db_session=self.db, center_id=center_id, query=q)
        return dump_page(ops.HourList, items, total, q)

    @rpc
    def approve_hours(
        self, center_id: str, entry_id: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.approve_hours)
        data = load(ops.HoursDecision, payload or {})
        entry = hours.approve_hours(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            entry_id=entry_id,
            by=principal.id,
            note=data["note"],
        )
        self.db.commit()
        self._count_approved(center_id, entry.minutes)
        return dump(ops.HourEntryRead, entry)

    @rpc
    def approve_shift_hours(self, center_id: str, shift_ref: str) -> list[dict[str, Any]]:
        """Approve every pending entry of a shift."""
        principal = self.require(center_id, ops.approve_shift_hours)
        entries = hours.approve_shift_hours(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            shift_ref=shift_ref,
            by=principal.id,
        )
        self.db.commit()
        self._count_approved(center_id, sum(e.minutes for e in entries))
        return dump(ops.HourEntryRead, entries, many=True)

    @rpc
    def reject_hours(
        self, center_id: str, entry_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.reject_hours)
        data = load(ops.HoursReject, payload)
        entry = hours.reject_hours(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            entry_id=entry_id,
            by=principal.id,
            note=data["note"],
        )
        self.db.commit()
        return dump(ops.HourEntryRead, entry)

    # -- corrections -----------------------------------------------------------------------

    @rpc
    def request_correction(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        principal = self.require(center_id, ops.request_correction)
        data = load(ops.CorrectionCreate, payload)
        signup = signups.get_signup(
            db_session=self.db, center_id=center_id, signup_id=data.signup_id
        )
        ops.request_correction.authorize(principal, signup)
        correction = corrections.request_correction(
            db_session=self.db,
            outbox=self.outbox,
            signup=signup,
            data=data,
            requested_by=principal.id,
        )
        self.db.commit()
        return dump(ops.CorrectionRead, correction)

    @rpc
    def list_corrections(
        self, center_id: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Correction requests (staff: all; a volunteer: their own)."""
        principal = self.require(center_id, ops.list_corrections)
        q = load(ops.CorrectionQuery, query or {})
        items, total = corrections.list_corrections(
            db_session=self.db,
            center_id=center_id,
            query=q,
            volunteer=self._own(center_id, principal),
        )
        return dump_page(ops.CorrectionList, items, total, q)

    @rpc
    def approve_correction(
        self, center_id: str, correction_id: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.approve_correction)
        data = load(ops.HoursDecision, payload or {})
        correction = corrections.approve_correction(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            correction_id=correction_id,
            by=principal.id,
            note=data["note"],
        )
        self.db.commit()
        self._count_approved(center_id, correction.minutes)
        return dump(ops.CorrectionRead, correction)

    @rpc
    def reject_correction(
        self, center_id: str, correction_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.reject_correction)
        data = load(ops.HoursReject, payload)
        correction = corrections.reject_correction(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            correction_id=correction_id,
            by=principal.id,
            note=data["note"],
        )
        self.db.commit()
        return dump(ops.CorrectionRead, correction)

    # -- totals ----------------------------------------------------------------------------

    @rpc
    def center_stats(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """Verified hours, participations (person-times) and beneficiaries served in a period."""
        self.require(center_id, ops.center_stats)
        q = load(ops.StatsQuery, query or {})
        return dump(
            ops.CenterStats,
            totals.center_stats(
                db_session=self.db,
                center_id=center_id,
                date_from=q["date_from"],
                date_to=q["date_to"],
            ),
        )

    @rpc
    def county_center_stats(
        self, center_ids: list[str] | None, query: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """For the reports service's county view (internal): each center's verified hours,
        participations and beneficiaries served, counted at once; ``center_ids`` all granted
        by the caller's token (else ``CENTER_FORBIDDEN``, as ``center_stats``), or ``None``:
        every center the token grants that has figures in the period."""
        ids = self.caller.require_centers(ops.county_center_stats, center_ids)
        q = load(ops.StatsQuery, query or {})
        return dump(
            ops.CountyCenterStats,
            totals.county_center_stats(
                db_session=self.db,
                center_ids=ids,
                date_from=q["date_from"],
                date_to=q["date_to"],
            ),
            many=True,
        )
