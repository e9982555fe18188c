"""Channels behind one interface: ``send(Outgoing)`` returns, or raises :class:`DeliveryError`.

* ``email`` — real SMTP (``EMAIL_SMTP_HOST`` …); with no host configured, the sandbox.
* ``sms`` — a provider adapter: ``sandbox`` (default) or ``aliyun`` (阿里云短信 SendSms).
* ``wechat`` — a provider adapter: ``sandbox`` (default) or ``official_account``
  (微信公众号模板消息, ``/cgi-bin/message/template/send``).
* ``webhook`` — HTTP POST of JSON to an organisation's own system (``webhook_url``).
* ``in_app`` — needs no sending: the delivery row *is* the inbox entry.

The **sandbox** providers send nothing: they append exactly what would have been sent
(the provider's request payload, or the e-mail) as one JSON line per message to
``SANDBOX_DIR/<channel>.jsonl``, so a laptop install can show every message without an
SMS contract or a WeChat account. See ``docs/departments.md`` and ``config.yml``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import smtplib
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import requests

from lianxin.clock import local_text, now_utc
from lianxin.logs import mask_phone
from lianxin.privacy import mask

log = logging.getLogger(__name__)

USER_AGENT = "Lianxin-Notify/1.0"


@dataclass
class Outgoing:
    """One message ready to go: the rendered text and the address on its channel."""

    delivery_id: str
    center_id: str
    channel: str
    message_type: str
    title: str
    body: str
    address: str
    recipient_name: str
    critical: bool = False


class DeliveryError(Exception):
    """A send that failed; ``permanent`` ones (a refused address) are not retried."""

    def __init__(self, reason: str, permanent: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Channel(Protocol):
    name: str

    def send(self, message: Outgoing) -> None: ...


class Sandbox:
    """Records what would have been sent, one JSON line per message, in ``<dir>/<name>.jsonl``."""

    _lock = threading.Lock()

    def __init__(self, directory: str | Path, name: str):
        self.path = Path(directory) / f"{name}.jsonl"
        self.name = name

    def record(self, message: Outgoing, request: dict[str, Any]) -> None:
        line = {
            "at": datetime.now(UTC).isoformat(),
            "provider": "sandbox",
            "channel": self.name,
            "delivery_id": message.delivery_id,
            "center_id": message.center_id,
            "message_type": message.message_type,
            "request": request,
        }
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
        log.info(
            "sandbox %s: %s to %s recorded in %s",
            self.name,
            message.message_type,
            mask_phone(message.address),
            self.path,
        )

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [
            json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line
        ]


# -- e-mail ----------------------------------------------------------------------------------


class EmailChannel:
    """Plain-text e-mail over SMTP (``starttls`` / ``ssl`` / ``none``), UTF-8 subjects."""

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        user: str = "",
        password: str = "",
        security: str = "none",
        timeout: float = 10.0,
        sender_name: str = "连心桥",
    ):
        self.host, self.port, self.sender, self.sender_name = host, port, sender, sender_name
        self.user, self.password, self.security, self.timeout = user, password, security, timeout

    def build(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = formataddr((self.sender_name, self.sender))
        mail["To"] = formataddr((message.recipient_name, message.address))
        mail["Subject"] = message.title
        mail["Message-ID"] = make_msgid(
            idstring=message.delivery_id.replace("-", ""), domain="lianxin"
        )
        mail["X-Lianxin-Delivery"] = message.delivery_id
        if message.critical:
            mail["X-Priority"] = "1"
        mail.set_content(message.body)
        return mail

    def send(self, message: Outgoing) -> None:
        mail = self.build(message)
        smtp_cls = smtplib.SMTP_SSL if self.security == "ssl" else smtplib.SMTP
        try:
            with smtp_cls(self.host, self.port, timeout=self.timeout) as smtp:
                if self.security == "starttls":
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"邮件服务器拒收该地址：{exc.recipients}", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            raise DeliveryError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=permanent
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP 连接失败：{type(exc).__name__}: {exc}") from None


class SandboxEmailChannel:
    """E-mail with no SMTP server configured: recorded, not sent. The From and To headers
    are written as the e-mail would show them, without building the whole MIME message."""

    name = "email"

    def __init__(self, sandbox: Sandbox, sender: str):
        self.sandbox = sandbox
        self.builder = EmailChannel("", 0, sender)
        self.sender = str(
            self.builder.build(Outgoing("", "", "email", "", "", "", sender, ""))["From"]
        )

    def send(self, message: Outgoing) -> None:
        try:
            to = str(Address(display_name=message.recipient_name, addr_spec=message.address))
        except ValueError:  # an odd address: written as the full e-mail would carry it
            to = str(self.builder.build(message)["To"])
        self.sandbox.record(
            message, {"from": self.sender, "to": to, "subject": message.title, "body": message.body}
        )


# -- webhook (an organisation's own system) --------------------------------------------------

#: ``(host, port)`` → the addresses the name stands for (``socket.getaddrinfo``'s, as text).
Resolver = Callable[[str, int], Sequence[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (eventlet makes the look-up green)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class UrlRefused(Exception):
    """A webhook URL notify won't POST to; ``reason`` says why, in Chinese."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _parse_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a URL's host spells, in any form a resolver accepts: ``127.0.0.1``,
    ``2130706433``, ``0x7f.1``, ``017700000001``, ``[::ffff:127.0.0.1]``. None for a name."""
    with contextlib.suppress(ValueError):  # not in the standard form: the BSD forms below
        return ipaddress.ip_address(host)
    try:  # inet_aton reads the BSD forms: 1 to 4 parts, each decimal, octal (0…) or hex (0x…)
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _refused_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is not the internet's, or None."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return _refused_address(embedded)
        if ip in _NAT64:  # 64:ff9b::/96 carries an IPv4 address in its last 32 bits
            return _refused_address(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    for test, what in _KINDS:
        if getattr(ip, test):
            return what
    if not ip.is_global:
        return "非公网地址"
    return None


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_KINDS = (
    ("is_unspecified", "未指定地址"),
    ("is_loopback", "本机回环地址"),
    ("is_link_local", "链路本地地址"),
    ("is_multicast", "组播地址"),
    ("is_reserved", "保留地址"),  # before private: Python counts 240.0.0.0/4 as both
    ("is_private", "内网地址"),
)


def allowed_hosts(text: object) -> frozenset[str]:
    """``WEBHOOK_ALLOWED_HOSTS`` read: ``host`` or ``host:port`` items, comma-separated
    (``[::1]:8080`` for an IPv6 address with a port), kept lower-case."""
    items = (item.strip().lower().rstrip(".") for item in str(text or "").split(","))
    return frozenset(item for item in items if item)


@dataclass(frozen=True)
class WebhookGuard:
    """Where notify may POST: http(s) URLs whose host is — and, for a name, whose every
    resolved address is — a public internet address, unless ``WEBHOOK_ALLOWED_HOSTS``
    names the host (``host`` for any port, ``host:port`` for that port only).

    Checked when a department subscribes or changes its URL, and again before every
    delivery (a name may resolve elsewhere by then)::

        guard = WebhookGuard.from_config(config)
        guard.check("http://10.0.0.5/hook")   # UrlRefused: 内网地址
    """

    allowed: frozenset[str] = frozenset()
    resolve: Resolver = system_resolver

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> WebhookGuard:
        return cls(allowed=allowed_hosts(config.get("WEBHOOK_ALLOWED_HOSTS")))

    def check(self, url: str) -> None:
        """Returns if notify may POST to ``url``; else :class:`UrlRefused` with the reason."""
        host, port = self._target(url)
        shown = f"[{host}]" if ":" in host else host
        if host in self.allowed or f"{shown}:{port}" in self.allowed:
            return
        ip = _parse_ip(host)
        if ip is not None:
            why = _refused_address(ip)
            if why:
                spelled = shown if str(ip) == host else f"{shown}，即 {ip}"
                raise UrlRefused(f"不允许向{why}（{spelled}）推送")
            return
        try:
            addresses = self.resolve(host, port)
        except (OSError, UnicodeError):
            raise UrlRefused(f"域名 {host} 无法解析") from None
        if not addresses:
            raise UrlRefused(f"域名 {host} 无法解析")
        for address in addresses:
            found = _parse_ip(address.split("%", 1)[0])
            why = "无法识别的地址" if found is None else _refused_address(found)
            if why:
                raise UrlRefused(f"域名 {host} 解析到{why}（{address}），不允许推送")

    @staticmethod
    def _target(url: str) -> tuple[str, int]:
        if any(c.isspace() or c == "\\" or ord(c) < 32 for c in url):
            raise UrlRefused("地址中不能有空白、控制字符或反斜杠")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise UrlRefused("地址格式不正确") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise UrlRefused("只接受 http 或 https 地址")
        if "@" in parts.netloc:
            raise UrlRefused("地址中不能带用户名或密码")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise UrlRefused("地址中缺少主机名")
        return host, port or (443 if parts.scheme.lower() == "https" else 80)


class WebhookChannel:
    """POSTs the message as JSON; ``Idempotency-Key`` is the delivery id (same on retries).
    The title and text go out with phone and ID numbers masked (an organisation's system
    is outside the center), and only to an address ``guard`` accepts."""

    name = "webhook"

    def __init__(
        self,
        timeout: tuple[float, float] = (3.0, 5.0),
        session: requests.Session | None = None,
        guard: WebhookGuard | None = None,
    ):
        self.timeout = timeout
        self.http = session or requests.Session()
        self.guard = guard or WebhookGuard()

    def send(self, message: Outgoing) -> None:
        try:
            self.guard.check(message.address)
        except UrlRefused as exc:
            raise DeliveryError(f"接收地址被拒绝：{exc.reason}", permanent=True) from None
        payload = {
            "id": message.delivery_id,
            "type": message.message_type,
            "center_id": message.center_id,
            "critical": message.critical,
            "title": mask(message.title),
            "body": mask(message.body),
            "sent_at": datetime.now(UTC).isoformat(),
        }
        try:
            response = self.http.post(
                message.address,
                json=payload,
                timeout=self.timeout,
                allow_redirects=False,
                headers={"Idempotency-Key": message.delivery_id, "User-Agent": USER_AGENT},
            )
        except requests.RequestException as exc:
            raise DeliveryError(f"网络错误：{type(exc).__name__}") from None
        if 200 <= response.status_code < 300:
            return
        permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
        raise DeliveryError(f"HTTP {response.status_code}", permanent=permanent)


# -- SMS -------------------------------------------------------------------------------------


class SmsChannel:
    """SMS through a provider; the provider adds the signature (e.g. 【连心桥】)."""

    name = "sms"

    def __init__(self, provider: Any):
        self.provider = provider

    def send(self, message: Outgoing) -> None:
        self.provider.send_sms(message)


class SandboxSms:
    def __init__(self, sandbox: Sandbox, sign_name: str):
        self.sandbox, self.sign_name = sandbox, sign_name

    def send_sms(self, message: Outgoing) -> None:
        self.sandbox.record(
            message,
            {
                "phone": message.address,
                "sign_name": self.sign_name,
                "text": f"【{self.sign_name}】{message.body}",
            },
        )


def _pct(value: str) -> str:
    return quote(value, safe="~")


class AliyunSms:
    """阿里云短信 SendSms (RPC API 2017-05-25, signature version 1.0, HMAC-SHA1).

    The rendered text goes in the template parameter ``content`` of an approved template
    (``ALIYUN_SMS_TEMPLATE_CODE``, e.g. one whose text is ``${content}``); a message type
    may have its own template (``ALIYUN_SMS_TEMPLATE_CODES``: ``type=code,type=code``).
    """

    VERSION = "2017-05-25"

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        template_code: str,
        template_codes: dict[str, str] | None = None,
        endpoint: str = "https://dysmsapi.aliyuncs.com/",
        region: str = "cn-hangzhou",
        timeout: tuple[float, float] = (3.0, 5.0),
        session: requests.Session | None = None,
    ):
        if not (access_key_id and access_key_secret and sign_name and template_code):
            raise ValueError(
                "aliyun SMS needs ALIYUN_SMS_ACCESS_KEY_ID, ALIYUN_SMS_ACCESS_KEY_SECRET, "
                "SMS_SIGN_NAME and ALIYUN_SMS_TEMPLATE_CODE"
            )
        self.key_id, self.key_secret, self.sign_name = access_key_id, access_key_secret, sign_name
        self.template_code, self.template_codes = template_code, template_codes or {}
        self.endpoint, self.region, self.timeout = endpoint, region, timeout
        self.http = session or requests.Session()

    def params(
        self, message: Outgoing, *, nonce: str | None = None, timestamp: str | None = None
    ) -> dict[str, str]:
        """The signed query parameters of one SendSms call."""
        params = {
            "AccessKeyId": self.key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": message.address,
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce or uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": self.template_codes.get(message.message_type, self.template_code),
            "TemplateParam": json.dumps({"content": message.body}, ensure_ascii=False),
            "Timestamp": timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": self.VERSION,
        }
        params["Signature"] = self.signature(params)
        return params

    def signature(self, params: dict[str, str]) -> str:
        canonical = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(params.items()))
        to_sign = f"GET&{_pct('/')}&{_pct(canonical)}"
        digest = hmac.new(f"{self.key_secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()

    def send_sms(self, message: Outgoing) -> None:
        try:
            response = self.http.get(
                self.endpoint, params=self.params(message), timeout=self.timeout
            )
            answer = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise DeliveryError(f"短信网关不可达：{type(exc).__name__}") from None
        code = str(answer.get("Code", ""))
        if code == "OK":
            return
        retry = (
            code in ("Throttling", "isv.BUSINESS_LIMIT_CONTROL", "ServiceUnavailable")
            or response.status_code >= 500
        )
        raise DeliveryError(
            f"短信网关拒绝：{code} {answer.get('Message', '')}".strip(), permanent=not retry
        )


# -- WeChat ----------------------------------------------------------------------------------


class WechatChannel:
    name = "wechat"

    def __init__(self, provider: Any):
        self.provider = provider

    def send(self, message: Outgoing) -> None:
        self.provider.send_template(message)


def wechat_payload(
    message: Outgoing, template_id: str, now: datetime | None = None
) -> dict[str, Any]:
    """The body of a 公众号 template message: title, text, time (Beijing time, whatever the
    process's zone), signature."""
    now_text = local_text(now or now_utc())
    return {
        "touser": message.address,
        "template_id": template_id,
        "data": {
            "first": {"value": message.title},
            "keyword1": {"value": message.body[:200]},
            "keyword2": {"value": now_text},
            "remark": {"value": "连心桥 · 党群服务中心"},
        },
    }


class SandboxWechat:
    def __init__(self, sandbox: Sandbox, template_id: str):
        self.sandbox, self.template_id = sandbox, template_id or "SANDBOX_TEMPLATE"

    def send_template(self, message: Outgoing) -> None:
        self.sandbox.record(message, wechat_payload(message, self.template_id))


class WechatOfficialAccount:
    """微信公众号模板消息: an access token (cached until it expires), then template/send."""

    def __init__(
        self,
        appid: str,
        secret: str,
        template_id: str,
        template_ids: dict[str, str] | None = None,
        api_base: str = "https://api.weixin.qq.com",
        timeout: tuple[float, float] = (3.0, 5.0),
        session: requests.Session | None = None,
    ):
        if not (appid and secret and template_id):
            raise ValueError("WeChat needs WECHAT_APPID, WECHAT_APPSECRET and WECHAT_TEMPLATE_ID")
        self.appid, self.secret, self.template_id = appid, secret, template_id
        self.template_ids = template_ids or {}
        self.api_base, self.timeout = api_base.rstrip("/"), timeout
        self.http = session or requests.Session()
        self._token: tuple[str, float] | None = None

    def token(self, refresh: bool = False) -> str:
        if self._token and not refresh and self._token[1] > time.monotonic():
            return self._token[0]
        try:
            answer = self.http.get(
                f"{self.api_base}/cgi-bin/token",
                timeout=self.timeout,
                params={
                    "grant_type": "client_credential",
                    "appid": self.appid,
                    "secret": self.secret,
                },
            ).json()
        except (requests.RequestException, ValueError) as exc:
            raise DeliveryError(f"微信接口不可达：{type(exc).__name__}") from None
        if "access_token" not in answer:
            raise DeliveryError(
                f"微信 access_token 获取失败：{answer.get('errcode')} {answer.get('errmsg')}"
            )
        self._token = (
            answer["access_token"],
            time.monotonic() + int(answer.get("expires_in", 7200)) - 300,
        )
        return self._token[0]

    def send_template(self, message: Outgoing) -> None:
        payload = wechat_payload(
            message, self.template_ids.get(message.message_type, self.template_id)
        )
        for attempt in (1, 2):
            try:
                answer = self.http.post(
                    f"{self.api_base}/cgi-bin/message/template/send",
                    params={"access_token": self.token(refresh=attempt == 2)},
                    data=json.dumps(payload, ensure_ascii=False).encode(),
                    timeout=self.timeout,
                ).json()
            except (requests.RequestException, ValueError) as exc:
                raise DeliveryError(f"微信接口不可达：{type(exc).__name__}") from None
            code = int(answer.get("errcode", -1))
            if code == 0:
                return
            if code in (40001, 42001) and attempt == 1:  # token expired or revoked: fetch anew
                continue
            permanent = code in (40003, 43004, 40037)  # bad openid, unsubscribed, bad template
            raise DeliveryError(
                f"微信模板消息失败：{code} {answer.get('errmsg', '')}", permanent=permanent
            )


# -- wiring ----------------------------------------------------------------------------------


def _pairs(text: str | None) -> dict[str, str]:
    out = {}
    for item in (text or "").split(","):
        if "=" in item:
            key, _, value = item.partition("=")
            out[key.strip()] = value.strip()
    return out


def from_config(config: dict[str, Any]) -> dict[str, Channel]:
    """The push channels as configured (see ``services/notify/config.yml``)."""
    sandbox_dir = config.get("SANDBOX_DIR") or "var/notify-sandbox"
    timeout = (
        float(config.get("SEND_CONNECT_TIMEOUT", 3)),
        float(config.get("SEND_READ_TIMEOUT", 5)),
    )
    sign_name = config.get("SMS_SIGN_NAME") or "连心桥"
    sender = config.get("EMAIL_FROM") or "noreply@lianxin.local"
    channels: dict[str, Channel] = {
        "webhook": WebhookChannel(timeout, guard=WebhookGuard.from_config(config))
    }
    if config.get("EMAIL_SMTP_HOST"):
        channels["email"] = EmailChannel(
            config["EMAIL_SMTP_HOST"],
            int(config.get("EMAIL_SMTP_PORT") or 25),
            sender,
            user=config.get("EMAIL_SMTP_USER") or "",
            password=config.get("EMAIL_SMTP_PASSWORD") or "",
            security=(config.get("EMAIL_SMTP_SECURITY") or "none").lower(),
            timeout=sum(timeout),
        )
    else:
        channels["email"] = SandboxEmailChannel(Sandbox(sandbox_dir, "email"), sender)
    sms = (config.get("SMS_PROVIDER") or "sandbox").lower()
    if sms == "aliyun":
        provider: Any = AliyunSms(
            config.get("ALIYUN_SMS_ACCESS_KEY_ID") or "",
            config.get("ALIYUN_SMS_ACCESS_KEY_SECRET") or "",
            sign_name,
            config.get("ALIYUN_SMS_TEMPLATE_CODE") or "",
            _pairs(config.get("ALIYUN_SMS_TEMPLATE_CODES")),
            endpoint=config.get("ALIYUN_SMS_ENDPOINT") or "https://dysmsapi.aliyuncs.com/",
            timeout=timeout,
        )
    elif sms == "sandbox":
        provider = SandboxSms(Sandbox(sandbox_dir, "sms"), sign_name)
    else:
        raise ValueError(f"SMS_PROVIDER {sms!r}: sandbox or aliyun")
    channels["sms"] = SmsChannel(provider)
    wechat = (config.get("WECHAT_PROVIDER") or "sandbox").lower()
    if wechat == "official_account":
        provider = WechatOfficialAccount(
            config.get("WECHAT_APPID") or "",
            config.get("WECHAT_APPSECRET") or "",
            config.get("WECHAT_TEMPLATE_ID") or "",
            _pairs(config.get("WECHAT_TEMPLATE_IDS")),
            api_base=config.get("WECHAT_API_BASE") or "https://api.weixin.qq.com",
            timeout=timeout,
        )
    elif wechat == "sandbox":
        provider = SandboxWechat(
            Sandbox(sandbox_dir, "wechat"), config.get("WECHAT_TEMPLATE_ID") or ""
        )
    else:
        raise ValueError(f"WECHAT_PROVIDER {wechat!r}: sandbox or official_account")
    channels["wechat"] = WechatChannel(provider)
    return channels
