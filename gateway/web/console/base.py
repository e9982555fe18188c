"""What every console page shares: the staff member looking (:meth:`ConsoleBase.staff`),
the menu they see — an item only when the operation it serves admits them, so a party's
handler never sees the admin's menu — and :meth:`ConsoleBase.show`, which renders a page in
the console's layout with the header's unread count gathered beside the page's own data.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from gateway.web import page
from gateway.web.views import Refused, Viewer, Views, field_errors, status_of
from lianxin.contracts.events import operations as event_ops
from lianxin.contracts.notify import operations as notify_ops
from lianxin.contracts.reports import operations as report_ops
from lianxin.contracts.tickets import operations as ticket_ops
from lianxin.contracts.volunteers import operations as volunteer_ops
from lianxin.errors import LianxinError
from lianxin.operations import Operation
from lianxin.roles import DUTY_NAMES, PARTY_NAMES, STAFF


@dataclass(frozen=True)
class MenuItem:
    key: str
    label: str
    href: str
    #: The operation the page serves: the item is shown to whom it admits.
    op: Operation
    #: Shown only to a party's staff (their queue).
    party_only: bool = False


MENU = (
    MenuItem("board", "值班看板", "/console/board", ticket_ops.acknowledge_ticket),
    MenuItem("queue", "本单位待办", "/console/queue", ticket_ops.start_ticket, party_only=True),
    MenuItem("intake", "接诉登记", "/console/intake", ticket_ops.create_ticket),
    MenuItem("tickets", "全部工单", "/console/tickets", ticket_ops.list_tickets),
    MenuItem("meeting", "党建联席会", "/console/meeting", ticket_ops.get_meeting),
    MenuItem("stats", "满意度与统计", "/console/stats", ticket_ops.get_satisfaction),
    MenuItem("reports", "月度报告", "/console/reports", report_ops.get_monthly_report),
    MenuItem("volunteers", "志愿服务", "/console/volunteers", volunteer_ops.list_hours),
    MenuItem("activities", "活动与功能室", "/console/activities", event_ops.create_activity),
    MenuItem("inbox", "消息", "/console/inbox", notify_ops.list_notifications),
    MenuItem("settings", "中心设置", "/console/settings", ticket_ops.add_category),
)

#: What a page says once after a form succeeded (``?done=<key>``, see ``see_other``): fixed
#: texts, so a link can't make the console say anything else.
NOTICES = {
    "acknowledged": "已签收",
    "assigned": "已派单",
    "started": "已开始办理",
    "returned": "已退单，值班干部将重新派单",
    "resolved": "已办结，答复将告知反映人",
    "escalated": "已提交党建联席会",
    "merged": "已并单",
    "closed": "已回访关闭",
    "reopened": "已重新办理",
    "rated": "已记录回访评价",
    "urged": "已催办",
    "registered": "诉求已登记",
    "decided": "已记录联席会决定",
    "read": "已全部标记为已读",
    "saved": "已保存",
    "approved": "已审核通过",
    "rejected": "已驳回",
    "published": "已发布",
    "cancelled": "已取消",
    "checked_in": "已签到",
    "checked_out": "已签退",
    "invited": "账号已建立，邀请链接已发出",
    "booked": "已预约",
    "signed_up": "已为志愿者报名",
    "no_show": "已登记缺席",
    "registered_person": "帮扶对象已登记",
    "visit_recorded": "探访记录已登记，志愿者时长已计入",
    "category_added": "诉求类别已新增",
    "category_saved": "诉求类别已保存",
    "duty_added": "值班已排入",
    "disabled": "账号已停用，其登录已全部结束",
    "enabled": "账号已重新启用",
    "reset": "已重置密码，设置新密码的链接已发出",
    "template_saved": "消息模板已保存",
    "template_reset": "已恢复默认模板",
    "subscribed": "事件订阅已建立",
    "unsubscribed": "事件订阅已删除",
    "door_checked_in": "已签到入场",
    "booking_requested": "预约已提交，等待审批",
}


def party_name(code: str | None) -> str:
    return PARTY_NAMES.get(code or "", "未指定")


class ConsoleBase(Views):
    """The console's shared view helpers."""

    def staff(self, request: Request) -> Viewer:
        """The signed-in staff member (a cadre, a social worker, a party's handler, the
        admin); anyone else gets the Chinese page saying the console is for staff."""
        viewer = self.viewer(request)
        if viewer.principal.role not in STAFF:
            raise Refused(
                page(
                    request,
                    "console/refused.html",
                    403,
                    title="仅限中心工作人员",
                    reason="工作台仅供服务中心工作人员使用。"
                    + (
                        "居民和志愿者请使用手机页面。"
                        if viewer.principal.role in ("resident", "volunteer")
                        else "职能部门和运维账号请通过接口查看已授权中心的数据。"
                    ),
                    home=f"/m/{viewer.center}/"
                    if viewer.principal.role in ("resident", "volunteer")
                    else "",
                )
            )
        return viewer

    def menu(self, viewer: Viewer) -> list[MenuItem]:
        return [
            item
            for item in MENU
            if viewer.may(item.op) and (not item.party_only or viewer.principal.party)
        ]

    def show(
        self,
        request: Request,
        viewer: Viewer,
        template: str,
        *,
        active: str,
        title: str,
        status: int = 200,
        calls: dict[str, Callable[[], Any]] | None = None,
        **values: Any,
    ) -> Response:
        """``template`` in the console's layout. ``calls`` (the page's data) run at once,
        beside the header's unread count; each answer — or the error it failed with — is
        passed to the template under its name."""
        gathered = self.gather(
            unread=lambda: self.run(request, notify_ops.unread_count)["unread"],
            **(calls or {}),
        )
        unread = gathered.pop("unread")
        notice = NOTICES.get(request.args.get("done", ""))
        principal = viewer.principal
        return page(
            request,
            template,
            status,
            title=title,
            active=active,
            viewer=viewer,
            menu=self.menu(viewer),
            unread=unread if isinstance(unread, int) else None,
            center_name=self.center_name(viewer.center),
            duty_name=DUTY_NAMES.get(principal.duty or "", "工作人员"),
            party=party_name(principal.party) if principal.party else "",
            notice=notice,
            form_key=secrets.token_urlsafe(12),
            **gathered,
            **values,
        )

    def refusal(self, request: Request, viewer: Viewer, active: str, reason: str) -> Refused:
        """A page of an area this staff member may not use: 403, said in the console (with
        the menu they do have), never a bare error page."""
        return Refused(
            self.show(
                request,
                viewer,
                "console/missing.html",
                active=active,
                title="无权使用此页面",
                status=403,
                reason=reason,
            )
        )

    def area(self, request: Request, op: Operation, active: str, reason: str) -> Viewer:
        """The staff member, if ``op`` (what the area is for) admits them; else the 403."""
        viewer = self.staff(request)
        if not viewer.may(op):
            raise self.refusal(request, viewer, active, reason)
        return viewer

    def show_tabbed(
        self,
        request: Request,
        viewer: Viewer,
        template: str,
        *,
        active: str,
        tabs: tuple[tuple[str, str, str, Operation], ...],
        tab: str,
        title: str,
        **values: Any,
    ) -> Response:
        """A page of an area with tabs (those this person may use): the reasons of a refused
        form by field and what was typed, 422/4xx by the error."""
        error = values.get("error")
        values.setdefault("errors", field_errors(error))
        values.setdefault("typed", {})
        status = values.pop("status", None) or (status_of(error) if error is not None else 200)
        return self.show(
            request,
            viewer,
            template,
            active=active,
            title=title,
            status=status,
            tabs=[(key, label, href) for key, label, href, op in tabs if viewer.may(op)],
            tab=tab,
            failed=failed,
            **values,
        )


def failed(value: Any) -> bool:
    """Whether a gathered part failed (the template says so in its place)."""
    return isinstance(value, LianxinError)
