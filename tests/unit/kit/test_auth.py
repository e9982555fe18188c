import time

import jwt
import pytest

from lianxin import auth
from lianxin.errors import Forbidden, Unauthenticated, Unavailable
from lianxin.keys import Keys, KeySet, new_key
from lianxin.operations import Operation, Rule
from lianxin.roles import CADRES, ROLES, SOCIAL_WORKERS, STAFF, Principal


@pytest.fixture
def issuer():
    """A key of an issuer and a verifier that trusts only it (a JWKS document in memory)."""
    key = new_key()
    return key, auth.Verifier(Keys(lambda: {"keys": [key.public_jwk()]}))


def test_token_names_role_and_centers(issuer):
    key, verifier = issuer
    principal = verifier.decode(auth.issue(key, sub="duty-1", role="staff", centers=["yanminghu"]))
    assert principal == Principal(sub="duty-1", role="staff", centers=("yanminghu",))
    assert principal.center == "yanminghu" and principal.duty == "cadre"
    assert principal.may_act_for("yanminghu") and not principal.may_act_for("fenghuangtai")


def test_a_party_handlers_token_names_its_party_and_its_duty_follows(issuer):
    key, verifier = issuer
    handler = verifier.decode(
        auth.issue(key, sub="wy-1", role="staff", centers=["yanminghu"], party="property")
    )
    social_worker = verifier.decode(
        auth.issue(key, sub="sw-1", role="staff", centers=["yanminghu"], party="social_work")
    )
    assert (handler.party, handler.duty) == ("property", "handler")
    assert social_worker.duty == "social_worker"


def test_a_role_group_admits_roles_and_duties():
    cadre = Principal("d", "staff", ("a",))
    social_worker = Principal("s", "staff", ("a",), party="social_work")
    handler = Principal("w", "staff", ("a",), party="property")
    admin = Principal("x", "admin", ("a",))
    assert [p.admitted_by(CADRES) for p in (cadre, social_worker, handler, admin)] == [
        True,
        False,
        False,
        True,
    ]
    assert [p.admitted_by(SOCIAL_WORKERS) for p in (cadre, social_worker, handler, admin)] == [
        False,
        True,
        False,
        True,
    ]
    op = Operation("kit", "approve_hours", roles=SOCIAL_WORKERS, summary="审核时长")
    with pytest.raises(Forbidden) as err:
        op.check_caller(handler)
    assert err.value.detail == "责任单位经办人无权执行此操作（审核时长）"


def test_ops_token_may_act_for_every_center_and_nobody_else_may(issuer):
    key, verifier = issuer
    principal = verifier.decode(auth.issue(key, sub="ops", role="ops", centers=["*"]))
    assert principal.may_act_for("anywhere") and principal.center is None
    with pytest.raises(ValueError):
        auth.issue(key, sub="x", role="admin", centers=["*"])


def _signed(key, claims, **headers):
    return jwt.encode(
        claims, key.private_key, algorithm="EdDSA", headers={"kid": key.kid, **headers}
    )


def test_tokens_that_are_not_ours_are_refused(issuer):
    key, verifier = issuer
    later = int(time.time()) + 3600
    other = new_key()
    forged = [
        "not-a-jwt",
        # signed with a key the issuer never published
        _signed(
            other, {"sub": "x", "role": "staff", "centers": ["a"], "exp": later, "iss": "lianxin"}
        ),
        # our kid, another key's signature
        jwt.encode(
            {"sub": "x", "role": "admin", "centers": ["a"], "exp": later, "iss": "lianxin"},
            other.private_key,
            algorithm="EdDSA",
            headers={"kid": key.kid},
        ),
        # HS256 with the public key as the secret (the algorithm-confusion attack)
        jwt.encode(
            {"sub": "x", "role": "ops", "centers": ["*"], "exp": later, "iss": "lianxin"},
            key.public_jwk()["x"],
            algorithm="HS256",
            headers={"kid": key.kid},
        ),
        _signed(
            key, {"sub": "x", "role": "mayor", "centers": ["a"], "exp": later, "iss": "lianxin"}
        ),
        _signed(key, {"sub": "x", "role": "staff", "exp": later, "iss": "lianxin"}),
        _signed(key, {"sub": "x", "role": "staff", "centers": ["a"], "exp": later, "iss": "other"}),
        _signed(
            key,
            {
                "sub": "x",
                "role": "resident",
                "centers": ["a"],
                "party": "property",
                "exp": later,
                "iss": "lianxin",
            },
        ),
    ]
    for token in forged:
        with pytest.raises(Unauthenticated) as err:
            verifier.decode(token)
        assert err.value.code == "TOKEN_INVALID", token


def test_expired_token_is_refused_also_after_it_was_verified_once(issuer):
    key, verifier = issuer
    with pytest.raises(Unauthenticated) as err:
        verifier.decode(auth.issue(key, sub="x", role="staff", centers=["a"], ttl=-10))
    assert err.value.code == "TOKEN_EXPIRED"
    token = auth.issue(key, sub="x", role="staff", centers=["a"], ttl=1)
    assert verifier.decode(token).sub == "x"  # verified once, now remembered
    time.sleep(1.1)
    with pytest.raises(Unauthenticated) as err:
        verifier.decode(token)
    assert err.value.code == "TOKEN_EXPIRED"


def test_a_rotated_key_verifies_during_its_overlap_and_not_after():
    old, new = new_key(), new_key()
    published = {"keys": [old.public_jwk()]}
    now = [0.0]
    verifier = auth.Verifier(
        Keys(lambda: published, refresh=60, min_interval=1, clock=lambda: now[0])
    )
    old_token = auth.issue(old, sub="x", role="staff", centers=["a"])
    assert verifier.decode(old_token).sub == "x"
    # rotation: the issuer signs with the new key and still publishes the old one
    published = {"keys": [new.public_jwk(), old.public_jwk()]}
    now[0] = 2.0  # past min_interval: an unknown kid fetches the JWKS again
    assert verifier.decode(auth.issue(new, sub="y", role="staff", centers=["a"])).sub == "y"
    assert verifier.decode(old_token).sub == "x"
    # the overlap is over: the old key is no longer published
    published = {"keys": [new.public_jwk()]}
    now[0] = 70.0
    with pytest.raises(Unauthenticated) as err:
        verifier.decode(old_token)
    assert err.value.code == "TOKEN_INVALID"


def test_no_keys_to_be_had_is_unavailable_not_unauthenticated():
    key = new_key()

    def down():
        raise ConnectionError("accounts not running")

    verifier = auth.Verifier(Keys(down))
    with pytest.raises(Unavailable) as err:
        verifier.decode(auth.issue(key, sub="x", role="staff", centers=["a"]))
    assert err.value.code == "AUTH_UNAVAILABLE"


def test_a_failed_refresh_keeps_the_keys_already_known():
    key = new_key()
    answers = [{"keys": [key.public_jwk()]}]

    def fetch():
        if not answers:
            raise ConnectionError("down")
        return answers.pop()

    now = [0.0]
    keys = Keys(fetch, refresh=10, clock=lambda: now[0])
    assert keys.get(key.kid) is not None
    now[0] = 20.0
    assert keys.get(key.kid) is not None


def test_a_jwks_entry_of_another_kind_is_skipped():
    key = new_key()
    found = KeySet.from_jwks(
        {"keys": [{"kty": "RSA", "kid": "r1", "n": "x", "e": "AQAB"}, key.public_jwk()]}
    )
    assert list(found.keys) == [key.kid]


def test_unknown_role_cannot_be_issued():
    with pytest.raises(ValueError):
        auth.claims_for(sub="x", role="mayor", centers=["a"])


ANYONE = Operation("kit", "read_anything", roles=ROLES, summary="查看")
STAFF_ONLY = Operation("kit", "change_anything", roles=STAFF, summary="修改设置")


def test_caller_check_refuses_another_center_and_wrong_role(issuer):
    key, verifier = issuer
    check = auth.CallerCheck(
        auth.issue(key, sub="r", role="resident", centers=["yanminghu"]), verifier
    )
    assert check.require("yanminghu", ANYONE).sub == "r"
    with pytest.raises(Forbidden) as err:
        check.require("fenghuangtai", ANYONE)
    assert err.value.code == "CENTER_FORBIDDEN"
    with pytest.raises(Forbidden) as err:
        check.require("yanminghu", STAFF_ONLY)
    assert err.value.code == "ROLE_FORBIDDEN"
    assert err.value.detail == "居民无权执行此操作（修改设置）"  # the role's name, not its code


def test_caller_without_token_is_unauthenticated(issuer):
    with pytest.raises(Unauthenticated):
        auth.CallerCheck(None, issuer[1]).require("yanminghu", ANYONE)


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
