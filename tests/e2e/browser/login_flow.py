"""Drive /login in headless Chromium (Playwright, Debian's chromium) as a cadre and as a
resident would; print what the page showed as JSON. Run by tests/e2e/test_sign_in.py in a
process of its own (the suite's eventlet monkey-patching and Playwright's event loop don't
mix).

    python tests/e2e/browser/login_flow.py BASE_URL PASSWORD SCREENSHOT_DIR
"""

import json
import sys
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


def main(base: str, password: str, shots: Path) -> dict:
    seen: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page.goto(f"{base}/login")
        page.screenshot(path=str(shots / "login-staff.png"), full_page=True)
        page.get_by_label("账号").fill("admin-1")
        page.get_by_label("密码").fill("wrong-password-1")
        page.get_by_role("button", name="登录").click()
        seen["wrong"] = page.get_by_role("alert").inner_text()
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()
        seen["signed_in"] = page.locator("main").inner_text()
        seen["header"] = page.locator("header").inner_text()
        page.screenshot(path=str(shots / "login-signed-in.png"), full_page=True)
        cookies = {c["name"]: c for c in page.context.cookies()}
        seen["access_cookie_http_only"] = cookies["lx_access"]["httpOnly"]
        seen["me"] = page.evaluate("fetch('/api/v1/auth/me').then(r => r.json()).then(j => j.role)")
        page.get_by_role("button", name="退出").click()
        seen["signed_out"] = page.locator("h1").inner_text()
        page.get_by_role("link", name="居民 / 志愿者").click()
        page.get_by_label("手机号").fill("13700002222")
        page.get_by_role("button", name="获取验证码").click()
        seen["code_notice"] = page.get_by_role("status").inner_text()
        seen["code_label"] = page.get_by_label("验证码").count()
        page.screenshot(path=str(shots / "login-phone.png"), full_page=True)
        browser.close()
    return seen


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], Path(sys.argv[3])), ensure_ascii=False))
