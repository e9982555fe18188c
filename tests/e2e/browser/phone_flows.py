"""Drive the phone pages (/m/<center>/) in headless Chromium on a phone profile, as residents
and a volunteer would; print what the pages showed as JSON. Run by
tests/e2e/test_phone_pages.py in a process of its own (the suite's eventlet monkey-patching
and Playwright's event loop don't mix). Staff's part (acknowledging, resolving, another
resident cancelling) is done over the API with the tokens the test hands over.

    python tests/e2e/browser/phone_flows.py SETUP_JSON SCREENSHOT_DIR

SETUP_JSON names ``base``, ``center``, ``sms`` (the sandbox SMS log), the tokens ``cadre``
and ``handler`` (of the party the report goes to), ``other_resident`` and the ids it set up:
``activity`` (two places, taken by ``other_registration``), ``shift_code``, ``volunteer_phone``.
"""

import json
import re
import sys
import time
from pathlib import Path

import requests
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
#: What a control must measure at least (WCAG 2.5.5 / 适老化: 44 × 44 CSS px).
TARGET = 44
CONTROLS = (
    "button:not([hidden]), input:not([type=hidden]):not([hidden]), select, textarea, "
    ".tabs a, a.button"
)


class Flows:
    def __init__(self, setup: dict, shots: Path):
        self.setup, self.shots = setup, shots
        self.base = setup["base"]
        self.center = setup["center"]
        self.seen: dict = {}

    def url(self, path: str) -> str:
        return f"{self.base}/m/{self.center}{path}"

    def api(self, method: str, path: str, token: str, body: dict | None = None) -> dict:
        answer = requests.request(
            method,
            self.base + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else {}

    def shot(self, page: Page, name: str) -> None:
        page.screenshot(path=str(self.shots / f"phone-{name}.png"), full_page=True)

    def sign_in(self, page: Page, phone: str, role: str, next_path: str) -> None:
        """Through /login as a resident or volunteer: the code from the sandbox SMS."""
        sms = Path(self.setup["sms"])
        before = len(sms.read_text(encoding="utf-8").splitlines()) if sms.exists() else 0
        page.goto(f"{self.base}/login?as=phone&role={role}&center={self.center}&next={next_path}")
        page.get_by_label("手机号").fill(phone)
        page.get_by_role("button", name="获取验证码").click()
        code = None
        deadline = time.monotonic() + 15
        while code is None and time.monotonic() < deadline:
            for line in sms.read_text(encoding="utf-8").splitlines()[before:]:
                sent = json.loads(line)
                if sent["request"].get("phone") == phone and "sign_in" in sent["message_type"]:
                    code = re.search(r"验证码是 (\d{6})", sent["request"]["text"]).group(1)
            time.sleep(0.2)
        assert code, f"no sign-in code for {phone} in the sandbox SMS"
        page.get_by_label("验证码").fill(code)
        page.get_by_role("button", name="登录", exact=True).click()
        page.wait_for_url(f"**{next_path}")

    # -- a resident reports with a photo and a location, follows it, rates it -----------

    def report_and_rate(self, browser, device: dict, photo: Path) -> None:
        context = browser.new_context(
            **device,
            locale="zh-CN",
            geolocation={"latitude": 34.7236, "longitude": 114.0186},
            permissions=["geolocation"],
        )
        page = context.new_page()
        page.goto(self.url("/"))
        self.seen["home_title"] = page.locator("h1").inner_text()
        self.seen["home_has_button"] = page.get_by_role("link", name="反映诉求").first.is_visible()
        self.shot(page, "home")
        page.get_by_role("link", name="反映诉求").first.click()
        page.wait_for_url("**/report")
        page.get_by_label("遇到了什么问题？").fill(
            "东村社区5号楼门口的路灯坏了，晚上老人出门看不见路"
        )
        page.get_by_label("问题类别").select_option("repairs")
        page.get_by_label("路灯").check()
        page.get_by_role("button", name="使用我现在的位置").click()
        page.wait_for_function("document.getElementById('lat').value !== ''")
        page.locator("#photo0").set_input_files(str(photo))
        page.wait_for_selector("#previews img")
        page.get_by_label("手机号").fill("13700006666")
        self.shot(page, "report-filled")
        page.get_by_role("button", name="提交").click()
        page.wait_for_url("**/follow/**")
        self.seen["sent"] = page.locator("#sent").inner_text()
        self.seen["sent_text"] = page.locator("main").inner_text()
        self.shot(page, "follow-sent")
        follow = page.get_by_role("link", name="本条诉求的查询链接").get_attribute("href")
        ticket_id = follow.split("/follow/")[1].split("?")[0]
        self.seen["ticket_id"] = ticket_id
        ticket = self.api("GET", f"/api/v1/tickets/{ticket_id}", self.setup["cadre"])
        self.seen["ticket_has_location"] = ticket["lat"] is not None and ticket["long"] is not None
        self.seen["ticket_photos"] = len(ticket["photo_ids"])
        # the cadre on duty's board (the staff console) has it, awaiting acknowledgement
        board = requests.get(
            self.base + "/console/board/rows",
            headers={"Authorization": f"Bearer {self.setup['cadre']}"},
            timeout=10,
        )
        self.seen["on_the_board"] = f'data-ticket-id="{ticket_id}"' in board.text
        # staff's part: acknowledge, then the party's handler resolves it
        self.api("POST", f"/api/v1/tickets/{ticket_id}/acknowledge", self.setup["cadre"], {})
        self.api(
            "POST",
            f"/api/v1/tickets/{ticket_id}/resolve",
            self.setup["handler"],
            {"answer": "路灯已更换，今晚起正常照明。"},
        )
        page.goto(self.base + follow)
        self.seen["resolved_state"] = page.locator(".state").first.inner_text()
        self.seen["answer"] = page.locator("#answer + p").inner_text()
        self.shot(page, "follow-resolved")
        page.get_by_label("满意", exact=True).check()
        page.get_by_role("button", name="提交评价").click()
        self.seen["rated_notice"] = page.get_by_role("status").first.inner_text()
        self.seen["rating_shown"] = page.locator("dl.facts").inner_text()
        self.shot(page, "follow-rated")
        context.close()

    # -- a resident registers past capacity, is waitlisted, then promoted ----------------

    def waitlist(self, browser, device: dict) -> None:
        context = browser.new_context(**device, locale="zh-CN")
        page = context.new_page()
        activity = self.setup["activity"]
        self.sign_in(page, "13700007777", "resident", f"/m/{self.center}/activities/{activity}")
        self.shot(page, "activity")
        page.get_by_label("家人姓名 1").fill("王小明")
        page.get_by_role("button", name="报名候补").click()
        self.seen["waitlisted_notice"] = page.get_by_role("status").first.inner_text()
        self.seen["waitlisted"] = page.locator("#my").inner_text()
        self.seen["position"] = page.locator("#my + p strong").inner_text()
        self.shot(page, "activity-waitlisted")
        # the one holding the place cancels: the waitlist moves up
        registration = self.setup["other_registration"]
        self.api("DELETE", f"/api/v1/registrations/{registration}", self.setup["other_resident"])
        page.reload()
        self.seen["promoted"] = page.locator("#my").inner_text()
        self.seen["door_qr"] = page.locator(".qr svg").count()
        self.seen["door_code"] = page.locator(".qr .code").inner_text()
        self.shot(page, "activity-confirmed")
        page.goto(self.url("/activities"))
        self.shot(page, "activities")
        page.goto(self.url("/mine"))
        self.shot(page, "mine")
        page.goto(self.url("/messages"))
        self.seen["messages_title"] = page.locator("h1").inner_text()
        self.shot(page, "messages")
        context.close()

    # -- the age-friendly mode, and 200% zoom ------------------------------------------

    def elder_mode(self, browser, device: dict) -> None:
        context = browser.new_context(**device, locale="zh-CN")
        page = context.new_page()
        page.goto(self.url("/report"))
        size = "parseFloat(getComputedStyle(document.documentElement).fontSize)"
        self.seen["base_px"] = page.evaluate(size)
        page.get_by_role("button", name="大字模式").click()
        page.wait_for_load_state()
        self.seen["elder_px"] = page.evaluate(size)
        self.seen["elder_after_reload_px"] = (page.reload(), page.evaluate(size))[1]
        self.shot(page, "report-elder")
        # 200% zoom on a 360 px phone: a 180 px wide CSS viewport
        zoomed = browser.new_context(
            **{**device, "viewport": {"width": 180, "height": 320}},
            locale="zh-CN",
        )
        zoomed.add_cookies([{"name": "lx_elder", "value": "1", "url": self.base}])
        zpage = zoomed.new_page()
        problems = []
        for path in ("/", "/report", "/activities"):
            zpage.goto(self.url(path))
            problems += zpage.evaluate(
                """([selector, target]) => {
                  const out = [];
                  const width = document.documentElement.clientWidth;
                  if (document.documentElement.scrollWidth > width + 1)
                    out.push(location.pathname + ' scrolls sideways: ' +
                             document.documentElement.scrollWidth + ' > ' + width);
                  for (const el of document.querySelectorAll(selector)) {
                    const box = el.getBoundingClientRect();
                    if (!box.width && !box.height) continue;  // not shown
                    if (box.height < target || box.width < target)
                      out.push(location.pathname + ' ' + el.outerHTML.slice(0, 60) + ' ' +
                               Math.round(box.width) + 'x' + Math.round(box.height));
                    if (box.right > width + 1) out.push(location.pathname + ' cut off: ' +
                               el.outerHTML.slice(0, 60));
                  }
                  return out;
                }""",
                [CONTROLS, TARGET],
            )
        zpage.goto(self.url("/report"))
        zpage.screenshot(path=str(self.shots / "phone-report-zoom200.png"), full_page=True)
        self.seen["zoom_problems"] = problems
        zoomed.close()
        context.close()

    # -- a report sent while the network is cut: kept, then sent once --------------------

    def offline(self, browser, device: dict) -> None:
        context = browser.new_context(**device, locale="zh-CN")
        page = context.new_page()
        page.goto(self.url("/report"))
        text = "断网测试：东村社区8号楼楼道灯不亮，已经三天了"
        page.get_by_label("遇到了什么问题？").fill(text)
        page.get_by_label("问题类别").select_option("repairs")
        page.get_by_label("路灯").check()
        context.set_offline(True)
        page.get_by_role("button", name="提交").click()
        page.wait_for_selector("#offline-note:not([hidden])")
        self.seen["offline_note"] = page.locator("#offline-note").inner_text()
        self.seen["draft_kept"] = page.evaluate(
            f"JSON.parse(localStorage.getItem('lx-draft-report-{self.center}')).description"
        )
        self.shot(page, "report-offline")
        context.set_offline(False)
        page.wait_for_url("**/follow/**", timeout=20000)
        self.seen["sent_after_online"] = page.locator("#sent").inner_text()
        self.seen["draft_after"] = page.evaluate(
            f"localStorage.getItem('lx-draft-report-{self.center}')"
        )
        # the browser sends the same form again (a double tap, a resend): still one ticket
        context.close()
        self.seen["offline_text"] = text

    # -- a volunteer signs up, checks in and out by the shift's code, sees pending hours --

    def volunteer_start(self, browser, device: dict):
        """Before the shift starts: sign up, check in (allowed an hour early)."""
        context = browser.new_context(**device, locale="zh-CN")
        page = context.new_page()
        self.sign_in(
            page, self.setup["volunteer_phone"], "volunteer", f"/m/{self.center}/volunteer/"
        )
        self.shot(page, "volunteer")
        shift = page.locator("li", has_text=self.setup["shift_title"])
        shift.get_by_role("button", name="报名").click()
        self.seen["signed_up_notice"] = page.get_by_role("status").first.inner_text()
        self.shot(page, "volunteer-signed-up")
        page.goto(self.url(f"/volunteer/check?code={self.setup['shift_code']}"))
        self.seen["code_prefilled"] = page.get_by_label("班次码").input_value()
        self.shot(page, "check")
        page.get_by_role("button", name="签到", exact=True).click()
        self.seen["checked_in"] = page.get_by_role("status").first.inner_text()
        return context, page

    def volunteer_finish(self, context, page: Page) -> None:
        """A minute into the shift: check out, a wrong code refused, the hours pending."""
        wait = self.setup["shift_starts"] + 62 - time.time()  # a whole minute served
        if wait > 0:
            time.sleep(wait)
        page.goto(self.url(f"/volunteer/check?code={self.setup['shift_code']}"))
        page.get_by_role("button", name="签退", exact=True).click()
        self.seen["checked_out"] = page.get_by_role("status").first.inner_text()
        page.goto(self.url("/volunteer/check"))
        page.get_by_label("班次码").fill("NO-SUCH-SHIFT")
        page.get_by_role("button", name="签到", exact=True).click()
        self.seen["wrong_code"] = page.get_by_role("alert").inner_text()
        self.shot(page, "check-refused")
        page.goto(self.url("/volunteer/hours"))
        self.seen["hours"] = page.locator("main").inner_text()
        self.shot(page, "hours")
        context.close()


def main(setup: dict, shots: Path) -> dict:
    flows = Flows(setup, shots)
    photo = shots / "street-light.jpg"
    photo.write_bytes(bytes.fromhex(setup["photo_hex"]))

    def attempt(name: str, fn, *args):
        try:
            return fn(*args)
        except Exception as exc:  # say what failed and go on with the other flows
            flows.seen[f"failed_{name}"] = f"{type(exc).__name__}: {exc}"[:600]
            return None

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        device = {k: v for k, v in p.devices["Pixel 5"].items() if k != "default_browser_type"}
        device["viewport"] = {"width": 360, "height": 640}
        started = attempt("volunteer", flows.volunteer_start, browser, device)
        attempt("report_and_rate", flows.report_and_rate, browser, device, photo)
        attempt("waitlist", flows.waitlist, browser, device)
        attempt("elder_mode", flows.elder_mode, browser, device)
        attempt("offline", flows.offline, browser, device)
        if started is not None:
            attempt("volunteer", flows.volunteer_finish, *started)
        browser.close()
    return flows.seen


if __name__ == "__main__":
    print(
        json.dumps(
            main(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2])), ensure_ascii=False
        )
    )
