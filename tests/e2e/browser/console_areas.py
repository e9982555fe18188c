"""Drive the console's 志愿服务, 活动与功能室 and 中心设置 pages in headless Chromium (Playwright, Debian's
chromium) as a social worker and the admin would; print what the pages showed as JSON. Run
by tests/e2e/test_console_areas.py in a process of its own (the suite's eventlet
monkey-patching and Playwright's event loop don't mix).

    python tests/e2e/browser/console_areas.py hours BASE PASSWORD SHOTS VOLUNTEER_NAME
    python tests/e2e/browser/console_areas.py account BASE PASSWORD SHOTS NEW_LOGIN
    python tests/e2e/browser/console_areas.py booking BASE PASSWORD SHOTS "START|START"
"""

import json
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def sign_in(page: Page, base: str, account: str, password: str) -> None:
    page.goto(f"{base}/login?next=/console/")
    page.get_by_label("账号").fill(account)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def approve_hours(page: Page, base: str, password: str, shots: Path, who: str) -> dict:
    """A social worker opens the hours queue from the menu and approves a volunteer's hours
    of a shift (``who``: the volunteer's name and the shift's title, ``|`` between)."""
    seen: dict = {}
    name, title = who.split("|")
    sign_in(page, base, "sw-1", password)
    page.get_by_role("navigation", name="工作台菜单").get_by_role("link", name="志愿服务").click()
    page.get_by_role("navigation", name="志愿服务").get_by_role("link", name="时长审核").click()
    seen["heading"] = page.get_by_role("heading", level=1).inner_text()
    group = page.locator("section").filter(has=page.get_by_role("heading", name=title))
    row = group.get_by_role("row").filter(has_text=name)
    seen["row"] = row.first.inner_text()
    page.screenshot(path=str(shots / "hours-queue.png"), full_page=True)
    row.first.get_by_role("button", name="通过").click()
    page.wait_for_load_state()
    seen["notice"] = page.get_by_role("status").first.inner_text()
    seen["still_listed"] = page.get_by_role("heading", name=title).count()
    page.screenshot(path=str(shots / "hours-approved.png"), full_page=True)
    return seen


def add_account(page: Page, base: str, password: str, shots: Path, login: str) -> dict:
    """The admin adds a social worker; the invitation link sets a password; they sign in."""
    seen: dict = {}
    sign_in(page, base, "admin-1", password)
    page.get_by_role("navigation", name="工作台菜单").get_by_role("link", name="中心设置").click()
    page.get_by_role("navigation", name="中心设置").get_by_role("link", name="工作人员账号").click()
    page.get_by_label("姓名").fill("周新社工")
    page.get_by_label("登录账号").fill(login)
    page.get_by_label("人员编号").fill(login)
    page.get_by_label("岗位").select_option(label="社工（社工组织）")
    page.get_by_role("button", name="新增并生成邀请链接").click()
    page.wait_for_load_state()
    seen["invited"] = page.get_by_role("status").first.inner_text()
    link = page.locator("[data-invitation]")
    href = link.get_attribute("href") or ""
    seen["link"] = href
    page.screenshot(path=str(shots / "account-invited.png"), full_page=True)
    page.get_by_role("button", name="退出").click()
    page.wait_for_load_state()
    page.goto(base + href)
    page.get_by_label("新密码", exact=True).fill("Zhou-xin-2026-pw")
    page.get_by_label("再次输入新密码").fill("Zhou-xin-2026-pw")
    page.get_by_role("button", name="设置密码").click()
    page.wait_for_load_state()
    seen["set"] = page.locator("main, body").first.inner_text()
    sign_in(page, base, login, "Zhou-xin-2026-pw")
    seen["url"] = page.url
    seen["header"] = page.locator("header").inner_text()
    seen["menu"] = page.get_by_role("navigation", name="工作台菜单").inner_text()
    page.screenshot(path=str(shots / "account-signed-in.png"), full_page=True)
    return seen


def book_twice(page: Page, base: str, password: str, shots: Path, when: str) -> dict:
    """A cadre books a room from the rooms' week, then tries a slot overlapping it
    (``when``: the two starts, ``YYYY-MM-DDTHH:MM``, ``|`` between; an hour each)."""
    seen: dict = {}
    first, second = when.split("|")
    sign_in(page, base, "staff-duty-1", password)
    page.get_by_role("navigation", name="工作台菜单").get_by_role(
        "link", name="活动与功能室"
    ).click()

    form = page.get_by_role("region", name="预约功能室")

    def book(start: str, purpose: str) -> None:
        form.get_by_label("功能室").select_option(label="社工服务站")
        form.get_by_label("用途").fill(purpose)
        form.get_by_label("开始时间").fill(start)
        end = f"{start[:11]}{int(start[11:13]) + 1:02d}{start[13:]}"
        form.get_by_label("结束时间").fill(end)
        form.get_by_role("button", name="预约", exact=True).click()
        page.wait_for_load_state()

    book(first, "社工督导会")
    seen["first"] = page.get_by_role("status").first.inner_text()
    seen["slot"] = page.get_by_role("table").filter(has_text="社工督导会").count()
    book(second, "临时借用")
    starts = form.get_by_label("开始时间")
    seen["reason"] = page.locator("#starts_at-error").inner_text()
    seen["described_by"] = starts.get_attribute("aria-describedby")
    seen["kept"] = {
        "room": form.get_by_label("功能室").input_value(),
        "purpose": form.get_by_label("用途").input_value(),
        "starts_at": starts.input_value(),
    }
    page.screenshot(path=str(shots / "booking-refused.png"), full_page=True)
    return seen


def main(flow: str, base: str, password: str, shots: Path, arg: str) -> dict:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        try:
            flows = {"hours": approve_hours, "account": add_account, "booking": book_twice}
            return flows[flow](page, base, password, shots, arg)
        finally:
            browser.close()


if __name__ == "__main__":
    flow, base, password, shots, arg = sys.argv[1:6]
    print(json.dumps(main(flow, base, password, Path(shots), arg), ensure_ascii=False))
