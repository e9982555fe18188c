"""Drive the staff console in headless Chromium as the cadre on duty and a party's handler
would; print what the pages showed as JSON. Run by tests/e2e/test_console.py in a process of
its own (the suite's eventlet monkey-patching and Playwright's event loop don't mix).

    python tests/e2e/browser/console_flow.py BASE_URL PASSWORD SCREENSHOT_DIR OTHER_TICKET_ID

1. the cadre opens the duty board; a resident then reports on the web (plain HTTP): the row
   appears without a reload, with the visible alert and the chime;
2. the cadre acknowledges and dispatches it from the board in one click (party preselected);
3. the property company's handler starts and resolves it in its queue; they see neither the
   other party's ticket (OTHER_TICKET_ID) nor the admin's menu;
4. the resident rates it with the follow code; the satisfaction page counts the rating.
"""

import json
import re
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
CENTER = "yanminghu"


def post_json(url: str, body: dict) -> dict:
    """A resident's browser-less request; waits out the public throttle (429) if it must."""
    key = str(uuid.uuid4())
    for _attempt in range(4):
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            # A submission of its own (the same text twice in ten minutes is one report).
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            if exc.code != 429:
                raise
            time.sleep(float(exc.headers.get("Retry-After") or 5))
    raise RuntimeError("still throttled")


def sign_in(browser, base: str, account: str, password: str):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/login")
    page.get_by_label("账号").fill(account)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    return page


def satisfaction_count(page) -> int:
    text = page.locator("main").inner_text()
    found = re.search(r"共 (\d+) 次回访评价", text)
    return int(found.group(1)) if found else 0


def main(base: str, password: str, shots: Path, other_ticket: str) -> dict:
    seen: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        cadre = sign_in(browser, base, "staff-duty-1", password)
        seen["cadre_landing"] = cadre.url
        cadre.goto(f"{base}/console/stats?period=month")
        seen["ratings_before"] = satisfaction_count(cadre)
        cadre.goto(f"{base}/console/board")
        cadre.wait_for_timeout(300)
        # 1. a resident reports on the web while the board is open
        receipt = post_json(
            f"{base}/api/v1/public/tickets",
            {
                "center_id": CENTER,
                "category": "sanitation",
                "description": "东村社区5号楼门口的垃圾桶满了三天没人清运，气味很大",
                "address": "东村社区5号楼2单元",
                "contact": {"name": "赵大爷", "phone": "13900005555"},
            },
        )
        seen["ticket"] = tid = receipt["id"]
        row = cadre.locator(f'tr[data-ticket-id="{tid}"]')
        posted = time.monotonic()
        row.wait_for(state="visible", timeout=2000)
        seen["appeared_after_s"] = round(time.monotonic() - posted, 2)
        seen["alert"] = cadre.locator("[data-new-alert]").inner_text()
        seen["alert_visible"] = cadre.locator("[data-new-alert]").is_visible()
        seen["chimes"] = cadre.evaluate("window.lianxinChimes")
        seen["title"] = cadre.title()
        seen["row_state"] = row.locator(".state").inner_text()
        seen["preselected"] = row.locator("select[name=party]").input_value()
        seen["countdown"] = row.locator("[data-deadline]").inner_text()
        cadre.screenshot(path=str(shots / "console-board.png"), full_page=True)
        # 2. acknowledge and dispatch from the board, one click
        row.get_by_role("button", name="签收并派单").click()
        cadre.wait_for_load_state()
        seen["board_notice"] = cadre.get_by_role("status").first.inner_text()
        seen["row_state_after"] = (
            cadre.locator(f'tr[data-ticket-id="{tid}"]').locator(".state").inner_text()
        )
        # 3. the property company's handler
        handler = sign_in(browser, base, "wy-1", password)
        seen["handler_landing"] = handler.url
        seen["handler_menu"] = handler.locator("nav.side").inner_text()
        seen["handler_queue_has_it"] = handler.locator(f'tr[data-ticket-id="{tid}"]').count()
        seen["handler_queue_has_other"] = handler.locator(
            f'tr[data-ticket-id="{other_ticket}"]'
        ).count()
        handler.screenshot(path=str(shots / "console-queue.png"), full_page=True)
        mine = handler.locator(f'tr[data-ticket-id="{tid}"]')
        mine.get_by_role("button", name="开始办理").click()
        handler.wait_for_load_state()
        handler.locator(f'tr[data-ticket-id="{tid}"]').get_by_role(
            "link", name="办结 / 退单"
        ).click()
        handler.wait_for_load_state()
        handler.get_by_label("答复群众").fill("好")  # too short an answer: refused, kept
        handler.get_by_role("button", name="办结").click()
        handler.wait_for_load_state()
        seen["resolve_kept"] = handler.get_by_label("答复群众").input_value()
        seen["resolve_refused"] = handler.locator(".field-error").first.inner_text()
        handler.get_by_label("答复群众").fill("已安排保洁清运5号楼门口垃圾，并增加每日清运一次。")
        handler.get_by_role("button", name="办结").click()
        handler.wait_for_load_state()
        seen["resolved_notice"] = handler.get_by_role("status").first.inner_text()
        seen["resolved_state"] = handler.locator("h1 .state").inner_text()
        handler.screenshot(path=str(shots / "console-ticket.png"), full_page=True)
        other = handler.goto(f"{base}/console/tickets/{other_ticket}")
        seen["handler_other_status"] = other.status if other else None
        seen["handler_other_page"] = handler.locator("main").inner_text()
        admin = handler.goto(f"{base}/console/settings")
        seen["handler_settings_status"] = admin.status if admin else None
        # 4. the resident rates it; the satisfaction page counts it
        post_json(
            f"{base}/api/v1/public/centers/{CENTER}/tickets/{tid}/rating",
            {"rating": "satisfied", "follow_code": receipt["follow_code"], "comment": "清运及时"},
        )
        cadre.goto(f"{base}/console/stats?period=month")
        seen["ratings_after"] = satisfaction_count(cadre)
        seen["stats_text"] = cadre.locator("main").inner_text()
        seen["charts"] = cadre.locator("svg.chart").count()
        cadre.screenshot(path=str(shots / "console-stats.png"), full_page=True)
        browser.close()
    return seen


if __name__ == "__main__":
    result = main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4])
    print(json.dumps(result, ensure_ascii=False))
