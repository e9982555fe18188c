"""Channels behind one interface: real SMTP, the sandbox providers, webhook and the
provider adapters (against local HTTP servers standing in for the providers)."""

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

from services.notify import channels
from services.notify.channels import DeliveryError, Outgoing, UrlRefused, WebhookGuard
from services.notify.testing import SmtpSink, WebhookReceiver


def local_guard(url):
    """The guard of a test install that names its local receiver in WEBHOOK_ALLOWED_HOSTS."""
    return WebhookGuard.from_config({"WEBHOOK_ALLOWED_HOSTS": urlsplit(url).netloc})


def outgoing(channel, address, **kw):
    return Outgoing(
        delivery_id="d-1",
        center_id="yanminghu",
        channel=channel,
        message_type="ticket.created",
        title="新诉求待签收",
        body="收到一条新的群众诉求（环境卫生）",
        address=address,
        recipient_name="李卫东",
        **kw,
    )


def test_email_goes_over_smtp_with_a_chinese_subject():
    with SmtpSink() as smtp:
        channels.EmailChannel("127.0.0.1", smtp.port, "noreply@yanminghu.example.cn").send(
            outgoing("email", "duty@yanminghu.example.cn", critical=True)
        )
    [mail] = smtp.messages
    assert mail["Subject"] == "新诉求待签收" and mail["X-Lianxin-Delivery"] == "d-1"
    assert mail["X-Priority"] == "1" and "环境卫生" in mail.get_content()
    assert smtp.envelopes == [("noreply@yanminghu.example.cn", ["duty@yanminghu.example.cn"])]


def test_an_unreachable_smtp_server_is_a_retryable_failure():
    from lianxin.testing import free_port

    with pytest.raises(DeliveryError) as caught:
        channels.EmailChannel("127.0.0.1", free_port(), "n@x.cn", timeout=2).send(
            outgoing("email", "a@b.cn")
        )
    assert not caught.value.permanent


def test_by_default_sms_wechat_and_email_go_to_the_sandbox(tmp_path):
    chosen = channels.from_config({"SANDBOX_DIR": str(tmp_path)})
    chosen["sms"].send(outgoing("sms", "13800000001"))
    chosen["wechat"].send(outgoing("wechat", "oLXduty0000000001"))
    chosen["email"].send(outgoing("email", "duty@yanminghu.example.cn"))
    sms = channels.Sandbox(tmp_path, "sms").read()
    assert sms[0]["request"] == {
        "phone": "13800000001",
        "sign_name": "连心桥",
        "text": "【连心桥】收到一条新的群众诉求（环境卫生）",
    }
    wechat = channels.Sandbox(tmp_path, "wechat").read()[0]["request"]
    assert (
        wechat["touser"] == "oLXduty0000000001"
        and wechat["data"]["first"]["value"] == "新诉求待签收"
    )
    email = channels.Sandbox(tmp_path, "email").read()[0]
    assert email["provider"] == "sandbox" and email["request"]["subject"] == "新诉求待签收"


def test_unknown_providers_are_refused_at_startup(tmp_path):
    with pytest.raises(ValueError):
        channels.from_config({"SANDBOX_DIR": str(tmp_path), "SMS_PROVIDER": "carrier-pigeon"})
    with pytest.raises(ValueError):
        channels.from_config({"SANDBOX_DIR": str(tmp_path), "SMS_PROVIDER": "aliyun"})  # no keys


@pytest.mark.parametrize("status, permanent", [(500, False), (429, False), (404, True)])
def test_webhook_channel_maps_answers_to_retry_or_give_up(status, permanent):
    with WebhookReceiver(lambda _r: status) as hook:
        with pytest.raises(DeliveryError) as caught:
            channels.WebhookChannel(guard=local_guard(hook.url)).send(outgoing("webhook", hook.url))
    assert caught.value.permanent is permanent


def test_webhook_channel_posts_json_with_an_idempotency_key():
    with WebhookReceiver() as hook:
        channels.WebhookChannel(guard=local_guard(hook.url)).send(outgoing("webhook", hook.url))
    [got] = hook.requests
    assert got.headers["idempotency-key"] == "d-1"
    assert json.loads(got.body)["title"] == "新诉求待签收"


def test_webhook_channel_masks_phone_numbers_in_what_it_posts():
    with WebhookReceiver() as hook:
        message = outgoing("webhook", hook.url)
        message.title = "新诉求：来电13812345678"
        message.body = "3号楼2单元302漏水，联系电话138 1234 5678，身份证410105199001011234"
        channels.WebhookChannel(guard=local_guard(hook.url)).send(message)
    [got] = hook.requests
    posted = json.loads(got.body)
    assert posted["title"] == "新诉求：来电138****5678"
    assert posted["body"] == "3号楼2单元302漏水，联系电话138****5678，身份证4101**********1234"


def test_webhook_channel_refuses_a_local_address_without_posting():
    with WebhookReceiver() as hook:
        with pytest.raises(DeliveryError) as caught:
            channels.WebhookChannel().send(outgoing("webhook", hook.url))
    assert caught.value.permanent is True
    assert "本机回环地址" in caught.value.reason
    assert hook.requests == []


# -- the webhook guard (a fake resolver: nothing leaves the machine) -------------------------


def resolver(table):
    def resolve(host, port):
        if host not in table:
            raise OSError(f"no such host {host}")
        return table[host]

    return resolve


PUBLIC = resolver(
    {
        "hooks.mca.gov.cn": ["36.112.10.10", "2400:89c0:1053::10"],
        "internal.example.cn": ["36.112.10.11", "10.0.0.5"],
        "metadata.example.cn": ["169.254.169.254"],
        "v6local.example.cn": ["fe80::1%eth0"],
        "mapped.example.cn": ["::ffff:192.168.1.1"],
        "nothing.example.cn": [],
    }
)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.mca.gov.cn/lianxin",
        "http://hooks.mca.gov.cn:8080/lianxin?x=1",
        "http://36.112.10.10/hook",
        "http://[2400:89c0:1053::10]/hook",
        "HTTPS://HOOKS.MCA.GOV.CN./lianxin",
    ],
)
def test_the_guard_lets_public_addresses_through(url):
    WebhookGuard(resolve=PUBLIC).check(url)


@pytest.mark.parametrize(
    "url, why",
    [
        ("http://127.0.0.1:8080/h", "本机回环地址"),
        ("http://127.8.9.10/h", "本机回环地址"),
        ("http://[::1]/h", "本机回环地址"),
        ("http://2130706433/h", "即 127.0.0.1"),
        ("http://0x7f.1/h", "即 127.0.0.1"),
        ("http://0177.0.0.1/h", "即 127.0.0.1"),
        ("http://017700000001/h", "即 127.0.0.1"),
        ("http://0x7f000001/h", "即 127.0.0.1"),
        ("http://[::ffff:127.0.0.1]/h", "本机回环地址"),
        ("http://[::ffff:7f00:1]/h", "本机回环地址"),
        ("http://[::ffff:10.1.2.3]/h", "内网地址"),
        ("http://[64:ff9b::a00:1]/h", "内网地址"),
        ("http://[2002:c0a8:101::1]/h", "内网地址"),
        ("http://0.0.0.0/h", "未指定地址"),
        ("http://0/h", "未指定地址"),
        ("http://[::]/h", "未指定地址"),
        ("http://10.0.0.5/h", "内网地址"),
        ("http://172.16.3.4/h", "内网地址"),
        ("http://192.168.1.1/h", "内网地址"),
        ("http://[fd12:3456::1]/h", "内网地址"),
        ("http://169.254.169.254/latest/meta-data", "链路本地地址"),
        ("http://[fe80::1]/h", "链路本地地址"),
        ("http://224.0.0.1/h", "组播地址"),
        ("http://[ff02::1]/h", "组播地址"),
        ("http://240.0.0.1/h", "保留地址"),
        ("http://100.64.0.1/h", "非公网地址"),
        ("http://internal.example.cn/h", "解析到内网地址（10.0.0.5）"),
        ("http://metadata.example.cn/h", "解析到链路本地地址"),
        ("http://v6local.example.cn/h", "解析到链路本地地址"),
        ("http://mapped.example.cn/h", "解析到内网地址"),
        ("http://nothing.example.cn/h", "无法解析"),
        ("http://unknown.example.cn/h", "无法解析"),
        ("ftp://hooks.mca.gov.cn/h", "只接受 http 或 https"),
        ("file:///etc/passwd", "只接受 http 或 https"),
        ("gopher://127.0.0.1:6379/_INFO", "只接受 http 或 https"),
        ("http://user:pw@hooks.mca.gov.cn/h", "用户名或密码"),
        ("http://127.0.0.1\\@hooks.mca.gov.cn/h", "反斜杠"),
        ("http://hooks.mca.gov.cn /h", "空白"),
        ("http:///h", "缺少主机名"),
        ("http://hooks.mca.gov.cn:99999/h", "格式不正确"),
    ],
)
def test_the_guard_refuses_what_is_not_the_internet(url, why):
    with pytest.raises(UrlRefused) as caught:
        WebhookGuard(resolve=PUBLIC).check(url)
    assert why in caught.value.reason


def test_allowed_hosts_name_a_host_for_any_port_or_one_port_only():
    guard = WebhookGuard.from_config(
        {"WEBHOOK_ALLOWED_HOSTS": " 127.0.0.1:8080 , Receiver.Local, [::1]:9000 ,"}
    )
    guard.check("http://127.0.0.1:8080/h")
    guard.check("http://receiver.local/h")  # named: not even resolved
    guard.check("https://receiver.local:8443/h")
    guard.check("http://[::1]:9000/h")
    for url in ("http://127.0.0.1:8081/h", "http://[::1]:9001/h", "http://2130706433:8080/h"):
        with pytest.raises(UrlRefused):
            guard.check(url)


def test_a_port_is_matched_against_the_schemes_default():
    guard = WebhookGuard(allowed=frozenset({"10.0.0.5:443"}), resolve=PUBLIC)
    guard.check("https://10.0.0.5/h")
    with pytest.raises(UrlRefused):
        guard.check("http://10.0.0.5/h")


def test_every_address_a_name_resolves_to_is_checked_each_time():
    table = {"hooks.example.cn": ["36.112.10.10"]}
    guard = WebhookGuard(resolve=resolver(table))
    guard.check("http://hooks.example.cn/h")
    table["hooks.example.cn"] = ["36.112.10.10", "127.0.0.1"]  # rebinding
    with pytest.raises(UrlRefused):
        guard.check("http://hooks.example.cn/h")


def _aliyun_signature(secret, params):
    """The signature as Aliyun's RPC API documents it, computed independently here."""
    enc = lambda s: quote(s, safe="~")  # noqa: E731
    canonical = "&".join(
        f"{enc(k)}={enc(v)}" for k, v in sorted(params.items()) if k != "Signature"
    )
    string_to_sign = "GET&%2F&" + enc(canonical)
    return base64.b64encode(
        hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()
    ).decode()


def test_aliyun_sms_sends_a_signed_sendsms_request():
    with WebhookReceiver(lambda _r: (200, 0, {"Code": "OK", "Message": "OK", "BizId": "1"})) as api:
        sms = channels.AliyunSms(
            "AKID",
            "s3cret",
            "连心桥",
            "SMS_0001",
            {"ticket.sla_breached": "SMS_0002"},
            endpoint=api.url,
        )
        sms.send_sms(outgoing("sms", "13800000001"))
    params = dict(parse_qsl(urlsplit(api.requests[0].path).query))
    assert params["Action"] == "SendSms" and params["PhoneNumbers"] == "13800000001"
    assert params["TemplateCode"] == "SMS_0001" and params["SignName"] == "连心桥"
    assert json.loads(params["TemplateParam"]) == {"content": "收到一条新的群众诉求（环境卫生）"}
    assert params["Signature"] == _aliyun_signature("s3cret", params)


@pytest.mark.parametrize(
    "code, permanent", [("isv.MOBILE_NUMBER_ILLEGAL", True), ("Throttling", False)]
)
def test_aliyun_refusals_are_permanent_unless_throttled(code, permanent):
    with WebhookReceiver(lambda _r: (200, 0, {"Code": code, "Message": "x"})) as api:
        with pytest.raises(DeliveryError) as caught:
            channels.AliyunSms("AKID", "s", "连心桥", "SMS_1", endpoint=api.url).send_sms(
                outgoing("sms", "13800000001")
            )
    assert caught.value.permanent is permanent and code in caught.value.reason


def test_wechat_fetches_a_token_once_and_sends_the_template_message():
    def api(request):
        if request.path.startswith("/cgi-bin/token"):
            return 200, 0, {"access_token": "TOKEN-1", "expires_in": 7200}
        return 200, 0, {"errcode": 0, "errmsg": "ok", "msgid": 1}

    with WebhookReceiver(api) as server:
        wechat = channels.WechatOfficialAccount(
            "wxAPPID", "secret", "TPL-1", api_base=f"http://127.0.0.1:{server.port}"
        )
        wechat.send_template(outgoing("wechat", "oUSER0001"))
        wechat.send_template(outgoing("wechat", "oUSER0001"))
    paths = [r.path for r in server.requests]
    assert sum(p.startswith("/cgi-bin/token") for p in paths) == 1
    sent = json.loads(server.requests[-1].body)
    assert (
        "access_token=TOKEN-1" in paths[-1]
        and sent["template_id"] == "TPL-1"
        and sent["touser"] == "oUSER0001"
    )


def test_wechat_unsubscribed_user_is_a_permanent_failure():
    def api(request):
        if request.path.startswith("/cgi-bin/token"):
            return 200, 0, {"access_token": "T", "expires_in": 7200}
        return 200, 0, {"errcode": 43004, "errmsg": "require subscribe"}

    with WebhookReceiver(api) as server:
        with pytest.raises(DeliveryError) as caught:
            channels.WechatOfficialAccount(
                "wx", "s", "TPL", api_base=f"http://127.0.0.1:{server.port}"
            ).send_template(outgoing("wechat", "oUSER0001"))
    assert caught.value.permanent


def test_a_wechat_message_shows_beijing_time_whatever_the_process_zone(monkeypatch):
    import time
    from datetime import UTC, datetime

    monkeypatch.setenv("TZ", "America/Los_Angeles")  # a server set to another zone
    time.tzset()
    try:
        payload = channels.wechat_payload(
            outgoing("wechat", "oUSER0001"), "TPL", now=datetime(2026, 12, 1, 4, 12, tzinfo=UTC)
        )
    finally:
        monkeypatch.undo()
        time.tzset()
    assert payload["data"]["keyword2"]["value"] == "2026-12-01 12:12"
