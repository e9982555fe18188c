"""Department subscriptions: patterns, signatures, fan-out, fairness, 410, replay."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from lianxin.contracts.events import events as ev
from lianxin.contracts.notify import operations as nt
from lianxin.contracts.notify.operations import NewSubscription
from lianxin.contracts.schema import load
from lianxin.contracts.tickets import events as tk
from lianxin.errors import InvalidInput
from lianxin.roles import Principal
from services.notify import signing, webhooks
from services.notify import subscriptions as subs
from services.notify.channels import WebhookGuard
from services.notify.exceptions import SubscriptionForbidden, SubscriptionNotFound
from services.notify.models import WebhookDelivery

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
CIVIL = Principal(sub="civil-affairs", role="department", centers=("yanminghu", "fenghuang"))
#: The local receiver these tests name (http://127.0.0.1:9/…), allowed as a test install
#: allows its own through WEBHOOK_ALLOWED_HOSTS; nothing is ever resolved.
LOCAL = WebhookGuard(allowed=frozenset({"127.0.0.1:9"}), resolve=lambda host, port: [])


def ticket_created(event, center="yanminghu"):
    return event(
        tk.TICKET_CREATED,
        {
            "ticket_id": "t-1",
            "category": "sanitation",
            "category_name": "环境卫生",
            "party": "property",
            "channel": "web",
            "summary": "垃圾",
            "ack_due_at": NOW,
            "resolve_due_at": NOW,
        },
        center=center,
    )


def activity_cancelled(event):
    return event(
        ev.ACTIVITY_CANCELLED,
        {
            "activity_id": "a-1",
            "title": "趣味益智",
            "starts_at": NOW,
            "reason": None,
            "person_ids": ["res-1"],
        },
    )


def subscribe(
    db,
    types=("cn.lianxin.tickets.*",),
    centers=("yanminghu",),
    who=CIVIL,
    url="http://127.0.0.1:9/hook",
):
    sub = subs.create_subscription(
        db_session=db,
        principal=who,
        now=NOW,
        guard=LOCAL,
        data=NewSubscription(
            **{"url": url, "types": list(types), "centers": list(centers), "description": "民政局"}
        ),
    )
    db.commit()
    return sub


def receive(db, e, now=NOW):
    body = subs.archive_event(db_session=db, event=e, now=now)
    count = subs.fan_out(db_session=db, event=body, now=now)
    db.commit()
    return count


# -- the contract ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        "cn.lianxin.tickets.*",
        "cn.lianxin.*",
        "cn.lianxin.tickets.ticket.*",
        "cn.lianxin.tickets.ticket.created.v1",
    ],
)
def test_type_patterns_that_select_declared_types_are_accepted(pattern):
    data = load(
        nt.SubscriptionCreate,
        {"url": "https://mz.example.gov.cn/hooks", "types": [pattern], "centers": ["yanminghu"]},
    )
    assert nt.matching_types(data.types[0])


@pytest.mark.parametrize(
    "pattern",
    [
        "cn.lianxin.parking.*",
        "tickets.*",
        "cn.lianxin.tickets.ticket.created",
        "*",
        "cn.lianxin.tickets.ticket.created.v9",
    ],
)
def test_unknown_event_type_patterns_are_refused_with_the_reason(pattern):
    with pytest.raises(InvalidInput) as caught:
        load(
            nt.SubscriptionCreate,
            {"url": "https://x.cn/h", "types": [pattern], "centers": ["yanminghu"]},
        )
    assert "types" in caught.value.fields


@pytest.mark.parametrize("url", ["ftp://x.cn/h", "not a url", "http://"])
def test_invalid_urls_are_refused(url):
    with pytest.raises(InvalidInput) as caught:
        load(
            nt.SubscriptionCreate, {"url": url, "types": ["cn.lianxin.*"], "centers": ["yanminghu"]}
        )
    assert "url" in caught.value.fields


# -- signatures ------------------------------------------------------------------------------


def test_signature_verifies_with_the_standard_webhooks_library():
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    body = json.dumps({"specversion": "1.0", "data": {"summary": "垃圾没清运"}}, ensure_ascii=False)
    timestamp = int(datetime.now(UTC).timestamp())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.sign([secret], "msg_1", timestamp, body),
    }
    assert Webhook(secret).verify(body.encode(), headers)["data"]["summary"] == "垃圾没清运"


def test_during_rotation_both_secrets_sign(db):
    sub = subscribe(db)
    old = sub.secret
    sub, until = subs.rotate_secret(db_session=db, principal=CIVIL, subscription_id=sub.id)
    now = datetime.now(UTC)
    secrets = signing.signing_secrets(sub, now)
    assert secrets == [sub.secret, old] and until > now
    signature = signing.sign(secrets, "msg_2", 1700000000, "{}")
    assert len(signature.split(" ")) == 2
    assert signing.signing_secrets(sub, until + timedelta(seconds=1)) == [sub.secret]


# -- scope -----------------------------------------------------------------------------------


def test_a_department_subscribes_only_to_centers_its_token_grants(db):
    with pytest.raises(SubscriptionForbidden):
        subscribe(db, centers=("yanminghu", "baisha"))


def test_a_department_sees_only_its_own_subscriptions(db):
    sub = subscribe(db)
    health = Principal(sub="health-bureau", role="department", centers=("yanminghu",))
    assert subs.list_subscriptions(db_session=db, principal=health) == []
    with pytest.raises(SubscriptionNotFound):
        subs.get_subscription(db_session=db, principal=health, subscription_id=sub.id)
    ops = Principal(sub="ops-1", role="ops", centers=("*",))
    assert [s.id for s in subs.list_subscriptions(db_session=db, principal=ops)] == [sub.id]


# -- fan-out ---------------------------------------------------------------------------------


def test_events_reach_matching_subscriptions_once(db, event):
    tickets_sub = subscribe(db)
    subscribe(db, types=("cn.lianxin.events.*",))
    other_center = subscribe(db, centers=("fenghuang",))
    e = ticket_created(event)
    assert receive(db, e) == 1
    assert receive(db, e) == 0  # redelivered: nothing new
    [row] = db.scalars(select(WebhookDelivery)).all()
    assert row.subscription_id == tickets_sub.id and row.id.startswith("msg_")
    assert receive(db, activity_cancelled(event)) == 1
    assert receive(db, ticket_created(event, center="fenghuang")) == 1
    assert {r.subscription_id for r in db.scalars(select(WebhookDelivery))} >= {other_center.id}


def test_the_delivered_body_is_the_envelope_as_published(db, event):
    subscribe(db)
    e = ticket_created(event)
    receive(db, e)
    [job] = webhooks.claim_due(
        guard=LOCAL,
        db_session=db,
        now=NOW,
        limit=10,
        lease=timedelta(minutes=1),
        per_subscription=2,
        inflight={},
    )
    assert job["body"]["id"] == e["id"] and job["body"]["specversion"] == "1.0"
    assert job["body"]["data"]["ack_due_at"].startswith("2026-11-27T03:00:00")


def test_a_slow_subscriber_holds_only_its_own_share_of_the_pool(db, event):
    slow = subscribe(db, url="http://127.0.0.1:9/slow")
    fast = subscribe(db, url="http://127.0.0.1:9/fast")
    for _ in range(6):
        receive(db, ticket_created(event))
    jobs = webhooks.claim_due(
        guard=LOCAL,
        db_session=db,
        now=NOW,
        limit=10,
        lease=timedelta(minutes=1),
        per_subscription=2,
        inflight={slow.id: 2},
    )
    db.commit()
    assert {j["subscription_id"] for j in jobs} == {fast.id} and len(jobs) == 2


def test_410_disables_the_subscription_and_withdraws_its_queue(db, event, settings):
    sub = subscribe(db)
    receive(db, ticket_created(event))
    receive(db, ticket_created(event))
    first, second = webhooks.claim_due(
        guard=LOCAL,
        db_session=db,
        now=NOW,
        limit=1 + 1,
        lease=timedelta(minutes=1),
        per_subscription=2,
        inflight={},
    )
    assert (
        webhooks.record_attempt(
            db_session=db,
            delivery_id=first["id"],
            status=410,
            error=None,
            now=NOW,
            settings=settings,
        )
        == "gone"
    )
    db.commit()
    db.refresh(sub)
    assert sub.state == "disabled" and "410" in sub.disabled_reason
    states = {r.id: r.state for r in db.scalars(select(WebhookDelivery))}
    assert states == {first["id"]: "failed", second["id"]: "cancelled"}
    assert receive(db, ticket_created(event)) == 0


def test_errors_and_timeouts_are_retried_with_backoff_then_failed(db, event):
    from services.notify.settings import Settings

    settings = Settings(webhook_retry_base=5, webhook_retry_cap=60, webhook_max_attempts=3)
    subscribe(db)
    receive(db, ticket_created(event))
    now, outcomes = NOW, []
    for status, error in ((500, None), (None, "超时"), (503, None)):
        [job] = webhooks.claim_due(
            guard=LOCAL,
            db_session=db,
            now=now,
            limit=5,
            lease=timedelta(minutes=1),
            per_subscription=2,
            inflight={},
        )
        outcomes.append(
            webhooks.record_attempt(
                db_session=db,
                delivery_id=job["id"],
                status=status,
                error=error,
                now=now,
                settings=settings,
            )
        )
        db.commit()
        row = db.get(WebhookDelivery, job["id"])
        now = row.next_attempt_at or now
    assert outcomes == ["retried", "retried", "failed"]
    assert (row.state, row.attempts, row.last_status, row.last_error) == (
        "failed",
        3,
        503,
        "HTTP 503",
    )


def test_replay_sends_again_the_events_of_a_time_range(db):
    from lianxin.contracts import make_event, parse_event

    sub = subscribe(db)
    data = {
        "ticket_id": "t-1",
        "category": "sanitation",
        "category_name": "环境卫生",
        "party": "property",
        "channel": "web",
        "summary": "垃圾",
        "ack_due_at": NOW,
        "resolve_due_at": NOW,
    }
    inside, later = (
        parse_event(
            make_event(tk.TICKET_CREATED, center_id="yanminghu", subject="t-1", data=data, time=at)
        )
        for at in (NOW, NOW + timedelta(days=3))
    )
    receive(db, inside)
    receive(db, later)
    replay_id, count = subs.replay(
        db_session=db,
        principal=CIVIL,
        subscription_id=sub.id,
        start=NOW - timedelta(hours=1),
        end=NOW + timedelta(hours=1),
    )
    db.commit()
    assert count == 1
    replayed = db.scalars(
        select(WebhookDelivery).where(WebhookDelivery.replay_id == replay_id)
    ).all()
    assert [r.event_id for r in replayed] == [inside["id"]]
    assert len(db.scalars(select(WebhookDelivery)).all()) == 3  # two live, one replayed


def test_a_webhook_whose_sender_died_is_claimed_again_after_its_lease(db, event):
    subscribe(db)
    receive(db, ticket_created(event))
    [job] = webhooks.claim_due(
        guard=LOCAL,
        db_session=db,
        now=NOW,
        limit=5,
        lease=timedelta(minutes=1),
        per_subscription=2,
        inflight={},
    )
    db.commit()
    assert (
        webhooks.claim_due(
            guard=LOCAL,
            db_session=db,
            now=NOW + timedelta(seconds=30),
            limit=5,
            lease=timedelta(minutes=1),
            per_subscription=2,
            inflight={},
        )
        == []
    )
    [again] = webhooks.claim_due(
        guard=LOCAL,
        db_session=db,
        now=NOW + timedelta(minutes=2),
        limit=5,
        lease=timedelta(minutes=1),
        per_subscription=2,
        inflight={},
    )
    assert again["id"] == job["id"] and db.get(WebhookDelivery, job["id"]).attempts == 2


def test_a_hanging_subscribers_backlog_never_holds_up_the_others(db, event):
    slow = subscribe(db, url="http://127.0.0.1:9/slow")
    others = [subscribe(db, url=f"http://127.0.0.1:9/fast-{n}") for n in range(3)]
    for _ in range(30):
        receive(db, ticket_created(event))
    jobs = webhooks.claim_due(
        guard=LOCAL,
        db_session=db,
        now=NOW,
        limit=20,
        lease=timedelta(minutes=1),
        per_subscription=2,
        inflight={slow.id: 2, others[0].id: 1},
    )
    taken = [j["subscription_id"] for j in jobs]
    assert sorted(taken) == sorted([others[0].id] + [others[1].id] * 2 + [others[2].id] * 2)


def test_deliveries_fanned_out_to_a_subscription_disabled_meanwhile_are_withdrawn(db, event):
    sub = subscribe(db)
    active = subs.active_subscriptions(db_session=db)  # what a cache held a moment ago
    subs.update_subscription(
        db_session=db, principal=CIVIL, subscription_id=sub.id, data={"active": False}
    )
    db.commit()
    e = ticket_created(event)
    body = subs.archive_event(db_session=db, event=e, now=NOW)
    assert subs.fan_out(db_session=db, event=body, now=NOW, active=active) == 1
    db.commit()
    assert webhooks.cancel_orphans(db_session=db, now=NOW) == 1
    db.commit()
    [row] = db.scalars(select(WebhookDelivery)).all()
    assert (row.state, row.last_error) == ("cancelled", "订阅已停用")
    assert (
        webhooks.claim_due(
            guard=LOCAL,
            db_session=db,
            now=NOW,
            limit=5,
            lease=timedelta(minutes=1),
            per_subscription=2,
            inflight={},
        )
        == []
    )


def test_attempts_recorded_together_keep_each_its_own_outcome(db, event, settings):
    ok, failing, gone = (
        subscribe(db, url=f"http://127.0.0.1:9/{n}") for n in ("ok", "failing", "gone")
    )
    receive(db, ticket_created(event))
    jobs = {
        j["subscription_id"]: j
        for j in webhooks.claim_due(
            guard=LOCAL,
            db_session=db,
            now=NOW,
            limit=10,
            lease=timedelta(minutes=1),
            per_subscription=2,
            inflight={},
        )
    }
    outcomes = webhooks.record_attempts(
        db_session=db,
        settings=settings,
        attempts=[
            webhooks.HookAttempt(jobs[ok.id]["id"], 204, None, NOW),
            webhooks.HookAttempt(jobs[failing.id]["id"], 503, None, NOW),
            webhooks.HookAttempt(jobs[gone.id]["id"], 410, None, NOW),
            webhooks.HookAttempt("msg_unknown", 204, None, NOW),
        ],
    )
    db.commit()
    assert outcomes == [
        ("yanminghu", "delivered"),
        ("yanminghu", "retried"),
        ("yanminghu", "gone"),
        None,
    ]
    assert [db.get(WebhookDelivery, jobs[s.id]["id"]).state for s in (ok, failing, gone)] == [
        "delivered",
        "pending",
        "failed",
    ]


# -- where webhooks may go, and what they carry ----------------------------------------------


def claim(db, guard=LOCAL, now=NOW):
    jobs = webhooks.claim_due(
        db_session=db,
        now=now,
        limit=10,
        lease=timedelta(minutes=1),
        per_subscription=5,
        inflight={},
        guard=guard,
    )
    db.commit()
    return jobs


def new_subscription(url):
    return NewSubscription(
        **{"url": url, "types": ["cn.lianxin.tickets.*"], "centers": ["yanminghu"]}
    )


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/hook", "http://2130706433/", "http://0x7f.1/", "http://[::1]/h"],
)
def test_a_local_url_is_refused_at_subscription_and_nothing_is_stored(db, url):
    with pytest.raises(InvalidInput) as caught:
        subs.create_subscription(
            db_session=db, principal=CIVIL, data=new_subscription(url), guard=WebhookGuard()
        )
    assert caught.value.code == "WEBHOOK_URL_REFUSED"
    assert "本机回环地址" in caught.value.fields["url"][0]
    db.rollback()
    assert subs.list_subscriptions(db_session=db, principal=CIVIL) == []


def test_a_name_resolving_to_the_private_network_is_refused_at_subscription(db):
    guard = WebhookGuard(resolve=lambda host, port: ["36.112.10.10", "192.168.0.10"])
    with pytest.raises(InvalidInput) as caught:
        subs.create_subscription(
            db_session=db,
            principal=CIVIL,
            data=new_subscription("https://hooks.mca.gov.cn/in"),
            guard=guard,
        )
    assert caught.value.fields["url"] == [
        "域名 hooks.mca.gov.cn 解析到内网地址（192.168.0.10），不允许推送"
    ]


def test_a_changed_url_is_checked_as_a_new_one(db):
    sub = subscribe(db)
    with pytest.raises(InvalidInput) as caught:
        subs.update_subscription(
            db_session=db,
            principal=CIVIL,
            subscription_id=sub.id,
            data={"url": "http://169.254.169.254/latest/meta-data"},
            guard=LOCAL,
        )
    assert "链路本地地址" in caught.value.fields["url"][0]
    db.rollback()
    assert subs.get_subscription(db_session=db, principal=CIVIL, subscription_id=sub.id).url == (
        "http://127.0.0.1:9/hook"
    )


def test_a_delivery_to_a_name_now_resolving_inside_fails_with_the_reason(db, event):
    table = {"hooks.mca.gov.cn": ["36.112.10.10"]}
    guard = WebhookGuard(resolve=lambda host, port: table[host])
    subs.create_subscription(
        db_session=db,
        principal=CIVIL,
        data=new_subscription("https://hooks.mca.gov.cn/in"),
        guard=guard,
    )
    ok = subs.create_subscription(
        db_session=db, principal=CIVIL, data=new_subscription("http://127.0.0.1:9/ok"), guard=LOCAL
    )
    db.commit()
    receive(db, ticket_created(event))
    table["hooks.mca.gov.cn"] = ["127.0.0.1"]  # DNS rebinding since the subscription
    local_ok = WebhookGuard(allowed=frozenset({"127.0.0.1:9"}), resolve=guard.resolve)
    [job] = claim(db, guard=local_ok)
    assert job["subscription_id"] == ok.id
    [refused] = db.scalars(
        select(WebhookDelivery).where(WebhookDelivery.subscription_id != ok.id)
    ).all()
    assert refused.state == "failed" and refused.attempts == 1
    assert refused.last_error == (
        "接收地址被拒绝：域名 hooks.mca.gov.cn 解析到本机回环地址（127.0.0.1），不允许推送"
    )
    assert claim(db, guard=local_ok) == []  # not tried again


def test_a_department_receives_free_text_with_phone_numbers_masked(db, event):
    subscribe(db, types=("cn.lianxin.*",))
    e = ticket_created(event)
    e["data"]["summary"] = "3号楼2单元302门口垃圾没人清，电话13812345678"  # kept before masking
    receive(db, e)
    cancelled = activity_cancelled(event)
    cancelled["data"]["reason"] = "场地维修，咨询0371-62345678"
    receive(db, cancelled)
    bodies = {j["body"]["type"]: j["body"]["data"] for j in claim(db)}
    assert bodies[tk.TICKET_CREATED]["summary"] == "3号楼2单元302门口垃圾没人清，电话138****5678"
    assert bodies[ev.ACTIVITY_CANCELLED]["reason"] == "场地维修，咨询0371-****5678"
    assert bodies[ev.ACTIVITY_CANCELLED]["title"] == "趣味益智"
