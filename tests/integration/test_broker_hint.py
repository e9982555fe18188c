"""`make run` against a broker it can't use says why and what to do: a wrong password or an
unknown vhost is not a broker that is down (issue 17)."""

import pytest

from lianxin.runner import BrokerUnreachable, check_broker
from lianxin.testing import free_port

pytestmark = pytest.mark.integration


def refusal(uri: str) -> str:
    with pytest.raises(BrokerUnreachable) as err:
        check_broker(uri, timeout=3)
    return str(err.value)


def test_a_wrong_password_is_named_not_a_broker_to_start():
    said = refusal("pyamqp://guest:wrong@127.0.0.1:5672//")
    assert "ACCESS_REFUSED" in said and "user name or password" in said
    assert "rabbitmq-server -detached" not in said


def test_an_unknown_vhost_is_named_with_the_commands_to_make_it():
    said = refusal("pyamqp://guest:guest@127.0.0.1:5672/no_such_vhost")
    assert "rabbitmqctl add_vhost no_such_vhost" in said and "set_permissions" in said
    assert "rabbitmq-server -detached" not in said


def test_nothing_listening_is_a_broker_to_start():
    said = refusal(f"pyamqp://guest:guest@127.0.0.1:{free_port()}//")
    assert "rabbitmq-server -detached" in said
