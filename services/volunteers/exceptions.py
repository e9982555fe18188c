"""Errors of the volunteers service."""

from lianxin.errors import Conflict


class VolunteerConflict(Conflict):
    code = "VOLUNTEER_EXISTS"
    default_detail = "该人员已登记为志愿者"
