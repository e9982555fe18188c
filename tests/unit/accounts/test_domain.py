"""The accounts domain on its migrated SQLite database: the password policy, lockout with
back-off, sign-in codes and their limits, sessions and refresh rotation, key rotation,
invitations, and the production guard against the demo password."""

from datetime import UTC, datetime, timedelta

import pytest

from lianxin.contracts.accounts.operations import NewAccount
from lianxin.errors import Conflict, Forbidden, InvalidInput, RateLimited
from lianxin.people import person_for_phone, phone_hash
from lianxin.roles import Principal
from services.accounts import codes, keyring, passwords, registry, sessions, signin, throttles
from services.accounts.issuer import DemoPasswordInProduction, refuse_demo_password
from services.accounts.models import Account

CENTER = "yanminghu"
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
ADMIN = Principal("admin-1", "admin", (CENTER,))
OPS = Principal("ops-1", "ops", ("*",))
PASSWORD = "Lianxin2026ok"


@pytest.fixture
def db(service_session):
    return service_session("accounts")


def staff(db, login="wangwei", password=PASSWORD, **kw):
    data = NewAccount(
        person_id=kw.pop("person_id", "wy-1"),
        role=kw.pop("role", "staff"),
        login=login,
        party=kw.pop("party", "property"),
        password=password,
        centers=None,
    )
    made = registry.create(
        db, center_id=CENTER, data=data, actor=ADMIN, public_url="https://x", now=NOW
    )
    db.commit()
    return made


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1", "至少 10 个字符"),
        ("1234567890", "过于常见或简单"),
        ("aaaaaaaaaaaa1", "过于常见或简单"),
        ("onlyletters", "须同时包含字母和数字"),
        ("wangwei2026x", "不能包含账号名"),
    ],
)
def test_the_password_policy_says_why(password, reason):
    with pytest.raises(InvalidInput) as err:
        passwords.check_policy(password, login="wangwei")
    assert err.value.fields == {"password": [reason]}


def test_a_password_is_an_argon2id_hash_and_verifies_only_itself():
    digest = passwords.hash_password(PASSWORD)
    assert digest.startswith("$argon2id$")
    assert passwords.verify(digest, PASSWORD) and not passwords.verify(digest, PASSWORD + "x")
    assert not passwords.verify(None, PASSWORD)  # no account: a dummy hash is checked


def test_five_failures_lock_the_account_name_for_a_minute_then_twice_as_long(db):
    key = "yanminghu|wangwei"
    for _ in range(4):
        assert throttles.fail(db, "account", key, NOW) is False
    assert throttles.fail(db, "account", key, NOW) is True  # the fifth
    with pytest.raises(RateLimited) as err:
        throttles.check(db, "account", key, NOW + timedelta(seconds=30))
    assert err.value.code == "SIGN_IN_LOCKED" and "1 分钟" in err.value.detail
    throttles.check(db, "account", key, NOW + timedelta(seconds=61))  # the lock is over
    throttles.fail(db, "account", key, NOW + timedelta(seconds=61))  # the sixth: two minutes
    with pytest.raises(RateLimited):
        throttles.check(db, "account", key, NOW + timedelta(seconds=61 + 100))
    throttles.clear(db, "account", key)
    throttles.check(db, "account", key, NOW + timedelta(seconds=62))


def test_a_wrong_password_and_an_unknown_account_are_counted_alike(db):
    staff(db)
    attempt = signin.Attempt(CENTER, "10.0.0.9", NOW)
    assert signin.by_password(db, attempt=attempt, login="wangwei", password="Wrong2026xx") is None
    assert signin.by_password(db, attempt=attempt, login="nobody", password="Wrong2026xx") is None
    db.commit()
    counted = {t.key: t.failures for t in db.query(throttles.Throttle)}
    assert counted == {"yanminghu|wangwei": 1, "yanminghu|nobody": 1, "10.0.0.9": 2}
    issued = signin.by_password(db, attempt=attempt, login="WangWei".lower(), password=PASSWORD)
    assert isinstance(issued, sessions.Issued)


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(db):
    made = staff(db)
    attempt = signin.Attempt(CENTER, None, NOW)
    issued = signin.by_password(db, attempt=attempt, login="wangwei", password=PASSWORD)
    registry.disable(db, center_id=CENTER, account=made.account, actor=ADMIN, now=NOW)
    db.commit()
    assert issued.session.revoked_at == NOW and issued.session.revoked_reason == "disabled"
    assert signin.by_password(db, attempt=attempt, login="wangwei", password=PASSWORD) is None
    revoked = sessions.revoked_since(db, since=None, now=NOW + timedelta(seconds=5), ttl=600)
    assert revoked == [issued.session.id]


def test_a_code_works_once_within_five_minutes_and_five_wrong_guesses_end_it(db):
    digest = phone_hash("13812345678")
    code = codes.new_code(
        db, center_id=CENTER, phone_hash=digest, role="resident", client=None, now=NOW
    )
    assert len(code) == 6 and code.isdigit()
    late = NOW + timedelta(minutes=5, seconds=1)
    assert not codes.redeem(
        db, center_id=CENTER, phone_hash=digest, role="resident", code=code, now=late
    )
    assert codes.redeem(
        db, center_id=CENTER, phone_hash=digest, role="resident", code=code, now=NOW
    )
    assert not codes.redeem(
        db, center_id=CENTER, phone_hash=digest, role="resident", code=code, now=NOW
    )
    second = codes.new_code(
        db, center_id=CENTER, phone_hash=digest, role="resident", client=None, now=NOW
    )
    wrong = "000000" if second != "000000" else "111111"
    for _ in range(codes.GUESSES):
        codes.redeem(db, center_id=CENTER, phone_hash=digest, role="resident", code=wrong, now=NOW)
    assert not codes.redeem(
        db, center_id=CENTER, phone_hash=digest, role="resident", code=second, now=NOW
    )


def test_five_codes_an_hour_per_phone_whatever_the_client(db):
    digest = phone_hash("13812345678")
    for n in range(5):
        codes.new_code(
            db, center_id=CENTER, phone_hash=digest, role="resident", client=f"c{n}", now=NOW
        )
    with pytest.raises(RateLimited) as err:
        codes.new_code(
            db, center_id=CENTER, phone_hash=digest, role="resident", client="c9", now=NOW
        )
    assert err.value.code == "CODE_RATE_LIMITED"
    an_hour_later = NOW + timedelta(hours=1, seconds=1)
    codes.new_code(
        db, center_id=CENTER, phone_hash=digest, role="resident", client="c9", now=an_hour_later
    )


def test_a_residents_first_code_sign_in_makes_the_account_of_their_phones_person(db):
    phone = "13812345678"
    attempt = signin.Attempt(CENTER, None, NOW)
    code = signin.send_code(
        db, attempt=attempt, phone=phone, role="resident", find_volunteer=lambda c, p: None
    )
    issued = signin.by_code(
        db,
        attempt=attempt,
        phone=phone,
        code=code,
        role="resident",
        find_volunteer=lambda c, p: None,
    )
    account = db.get(Account, issued.session.account_id)
    assert account.role == "resident" and account.person_id == person_for_phone(CENTER, phone)
    assert person_for_phone(CENTER, "+86 138-1234-5678") == account.person_id  # same phone


def test_a_volunteers_code_is_sent_only_to_a_volunteers_phone(db):
    attempt = signin.Attempt(CENTER, None, NOW)
    nobody = signin.send_code(
        db, attempt=attempt, phone="13900000000", role="volunteer", find_volunteer=lambda c, p: None
    )
    assert nobody is None
    code = signin.send_code(
        db,
        attempt=attempt,
        phone="13900000001",
        role="volunteer",
        find_volunteer=lambda c, p: "vol-1",
    )
    issued = signin.by_code(
        db,
        attempt=attempt,
        phone="13900000001",
        code=code,
        role="volunteer",
        find_volunteer=lambda c, p: "vol-1",
    )
    assert db.get(Account, issued.session.account_id).person_id == "vol-1"


def test_a_refresh_token_is_replaced_and_the_replaced_one_is_recognised(db):
    made = staff(db)
    issued = sessions.start(db, account=made.account, client=None, now=NOW)
    db.commit()
    found, replaced = sessions.find(db, issued.refresh_token)
    assert found is issued.session and not replaced
    fresh = sessions.renew(found, now=NOW)
    db.commit()
    again, replaced = sessions.find(db, issued.refresh_token)
    assert again is issued.session and replaced
    assert sessions.find(db, fresh) == (issued.session, False)


def test_a_key_signs_until_rotation_then_stays_published_for_the_overlap(db):
    week = timedelta(days=7)
    first = keyring.active(db, now=NOW, rotate_after=week, overlap=timedelta(minutes=30))
    assert (
        keyring.active(db, now=NOW + timedelta(days=1), rotate_after=week, overlap=week).kid
        == first.kid
    )
    second = keyring.active(db, now=NOW + week, rotate_after=week, overlap=timedelta(minutes=30))
    assert second.kid != first.kid
    during = [k.kid for k in keyring.published(db, now=NOW + week + timedelta(minutes=29))]
    after = [k.kid for k in keyring.published(db, now=NOW + week + timedelta(minutes=31))]
    assert during == [second.kid, first.kid] and after == [second.kid]
    assert all("d" not in jwk for jwk in keyring.jwks(db, now=NOW)["keys"])


def test_an_invitation_sets_the_password_once_and_expires(db):
    data = NewAccount(
        person_id="sw-4",
        role="staff",
        login="sw-4",
        party="social_work",
        password=None,
        centers=None,
    )
    made = registry.create(
        db, center_id=CENTER, data=data, actor=ADMIN, public_url="https://lx.cn", now=NOW
    )
    assert made.account.status == "invited"
    assert made.invitation_url.startswith("https://lx.cn/login/invitation/")
    token = made.invitation_url.rsplit("/", 1)[1]
    late = NOW + registry.INVITATION_VALID + timedelta(seconds=1)
    with pytest.raises(Exception, match="邀请链接无效或已过期"):
        registry.accept(db, token=token, password=PASSWORD, now=late)
    account = registry.accept(db, token=token, password=PASSWORD, now=NOW)
    assert account.status == "active" and passwords.verify(account.password_hash, PASSWORD)
    with pytest.raises(Exception, match="邀请链接无效或已过期"):
        registry.accept(db, token=token, password=PASSWORD, now=NOW)


def test_who_may_make_which_account(db):
    staff(db)
    with pytest.raises(Conflict):
        staff(db)  # the same account name again
    department = NewAccount(
        person_id="dept-1",
        role="department",
        login="minzheng",
        party=None,
        password=PASSWORD,
        centers=[CENTER],
    )
    with pytest.raises(Forbidden):  # a center admin makes no department accounts
        registry.create(db, center_id=CENTER, data=department, actor=ADMIN, public_url="", now=NOW)
    made = registry.create(db, center_id=CENTER, data=department, actor=OPS, public_url="", now=NOW)
    assert made.account.center_id == "*" and made.account.centers == [CENTER]
    resident = NewAccount(
        person_id="r", role="resident", login=None, party=None, password=None, centers=None
    )
    with pytest.raises(InvalidInput):
        registry.create(db, center_id=CENTER, data=resident, actor=ADMIN, public_url="", now=NOW)


def test_production_refuses_to_start_while_an_account_has_the_demo_password(migrated, _var_dir):
    from services.accounts.commands import seed_accounts

    url = migrated("accounts", f"sqlite:///{_var_dir / 'accounts.db'}")  # where the seed writes
    refuse_demo_password(url)  # nobody has it yet
    made = seed_accounts(CENTER, [{"person_id": "admin-1", "role": "admin"}])
    assert made == ["admin-1"]
    with pytest.raises(DemoPasswordInProduction, match="1 account"):
        refuse_demo_password(url)
