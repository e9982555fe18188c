"""Channels behind one interface: real SMTP, the sandbox providers, webhook and the
provider adapters (against local HTTP servers standing in for the providers)."""

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

from services.notify import channels
from services.notify.channels import DeliveryError, Outgoing
from services.notify.testing import SmtpSink, WebhookReceiver


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
            channels.WebhookChannel().send(outgoing("webhook", hook.url))
    assert caught.value.permanent is permanent


def test_webhook_channel_posts_json_with_an_idempotency_key():
    with WebhookReceiver() as hook:
        channels.WebhookChannel().send(outgoing("webhook", hook.url))
    [got] = hook.requests
    assert got.headers["idempotency-key"] == "d-1"
    assert json.loads(got.body)["title"] == "新诉求待签收"


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
