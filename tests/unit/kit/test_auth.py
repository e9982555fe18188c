import time

import jwt
import pytest

from lianxin import auth
from lianxin.errors import Forbidden, Unauthenticated
from lianxin.operations import Operation, Rule
from lianxin.roles import ROLES, STAFF, Principal


def test_token_names_role_and_centers():
    principal = auth.decode(auth.issue(sub="duty-1", role="staff", centers=["yanminghu"]))
    assert principal == Principal(sub="duty-1", role="staff", centers=("yanminghu",))
    assert principal.center == "yanminghu"
    assert principal.may_act_for("yanminghu") and not principal.may_act_for("fenghuangtai")


def test_a_party_handlers_token_names_its_party():
    principal = auth.decode(
        auth.issue(sub="wy-1", role="staff", centers=["yanminghu"], party="property")
    )
    assert principal.party == "property" and principal.role == "staff"


def test_ops_token_may_act_for_every_center():
    principal = auth.decode(auth.issue(sub="ops", role="ops", centers=["*"]))
    assert principal.may_act_for("anywhere") and principal.center is None


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        jwt.encode(
            {
                "sub": "x",
                "role": "staff",
                "centers": ["a"],
                "exp": int(time.time()) + 86400,
                "iss": "lianxin",
            },
            "another-secret-of-the-right-length-0123456789",
            algorithm="HS256",
        ),
        jwt.encode(
            {
                "sub": "x",
                "role": "mayor",
                "centers": ["a"],
                "exp": int(time.time()) + 86400,
                "iss": "lianxin",
            },
            auth.jwt_secret(),
            algorithm="HS256",
        ),
        jwt.encode(
            {"sub": "x", "role": "staff", "exp": int(time.time()) + 86400, "iss": "lianxin"},
            auth.jwt_secret(),
            algorithm="HS256",
        ),
        jwt.encode(
            {
                "sub": "x",
                "role": "resident",
                "centers": ["a"],
                "party": "property",
                "exp": int(time.time()) + 86400,
                "iss": "lianxin",
            },
            auth.jwt_secret(),
            algorithm="HS256",
        ),
    ],
)
def test_forged_or_malformed_tokens_are_refused(token):
    with pytest.raises(Unauthenticated) as err:
        auth.decode(token)
    assert err.value.code == "TOKEN_INVALID"


def test_expired_token_says_so():
    token = auth.issue(sub="x", role="staff", centers=["a"], ttl=-10)
    with pytest.raises(Unauthenticated) as err:
        auth.decode(token)
    assert err.value.code == "TOKEN_EXPIRED"


def test_a_remembered_token_still_expires(monkeypatch):
    token = auth.issue(sub="x", role="staff", centers=["a"], ttl=60)
    assert auth.decode(token).sub == "x"  # verified once, now remembered
    later = time.time() + 61
    monkeypatch.setattr(auth.time, "time", lambda: later)
    with pytest.raises(Unauthenticated) as err:
        auth.decode(token)
    assert err.value.code == "TOKEN_EXPIRED"


def test_a_token_is_remembered_per_secret():
    token = auth.issue(sub="x", role="staff", centers=["a"])
    assert auth.decode(token).sub == "x"
    with pytest.raises(Unauthenticated) as err:
        auth.decode(token, secret="another-secret-of-the-right-length-0123456789")
    assert err.value.code == "TOKEN_INVALID"


def test_unknown_role_cannot_be_issued():
    with pytest.raises(ValueError):
        auth.issue(sub="x", role="mayor", centers=["a"])


ANYONE = Operation("kit", "read_anything", roles=ROLES, summary="查看")
STAFF_ONLY = Operation("kit", "change_anything", roles=STAFF, summary="修改设置")


def test_caller_check_refuses_another_center_and_wrong_role():
    check = auth.CallerCheck(
        auth.issue(sub="r", role="resident", centers=["yanminghu"]), auth.jwt_secret()
    )
    assert check.require("yanminghu", ANYONE).sub == "r"
    with pytest.raises(Forbidden) as err:
        check.require("fenghuangtai", ANYONE)
    assert err.value.code == "CENTER_FORBIDDEN"
    with pytest.raises(Forbidden) as err:
        check.require("yanminghu", STAFF_ONLY)
    assert err.value.code == "ROLE_FORBIDDEN"
    assert err.value.detail == "居民无权执行此操作（修改设置）"  # the role's name, not its code


def test_caller_without_token_is_unauthenticated():
    with pytest.raises(Unauthenticated):
        auth.CallerCheck(None, auth.jwt_secret()).require("yanminghu", ANYONE)


def test_a_rule_on_the_caller_refuses_before_anything_is_read_and_one_on_the_target_after():
    not_a_party = Rule(
        "not_a_party_handler",
        lambda p, _: p.party is None,
        "责任单位不能签收",
        code="PARTY_FORBIDDEN",
    )
    own_party = Rule(
        "own_party",
        lambda p, t: p.party in (None, t["party"]),
        "该工单未派给本单位",
        code="PARTY_FORBIDDEN",
        on_target=True,
    )
    acknowledge = Operation("kit", "acknowledge", roles=STAFF, summary="签收", rules=(not_a_party,))
    start = Operation("kit", "start", roles=STAFF, summary="开始办理", rules=(own_party,))
    handler = Principal("wy-1", "staff", ("yanminghu",), party="property")
    with pytest.raises(Forbidden) as err:
        acknowledge.check_caller(handler)
    assert err.value.code == "PARTY_FORBIDDEN"
    start.check_caller(handler)  # the target rule waits for the ticket
    start.authorize(handler, {"party": "property"})
    with pytest.raises(Forbidden):
        start.authorize(handler, {"party": "social_work"})


def test_development_secret_is_generated_once_and_kept(monkeypatch, tmp_path):
    monkeypatch.delenv("LIANXIN_JWT_SECRET")
    first = auth.jwt_secret()
    assert len(first) > 40 and auth.jwt_secret() == first
    assert oct((tmp_path / "var" / "dev-jwt-secret").stat().st_mode)[-3:] == "600"
