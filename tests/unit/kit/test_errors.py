from nameko.exceptions import RemoteError, serialize

from lianxin.errors import Conflict, InvalidInput, NotFound, from_remote


class TicketNotFound(NotFound):
    code = "TICKET_NOT_FOUND"
    default_detail = "工单不存在"


def remote(exc):
    data = serialize(exc)
    return RemoteError(data["exc_type"], data["value"])


def test_service_error_survives_rpc_with_kind_code_and_fields():
    back = from_remote(remote(InvalidInput(fields={"category": ["该服务中心没有此诉求类别"]})))
    assert isinstance(back, InvalidInput)
    assert back.fields == {"category": ["该服务中心没有此诉求类别"]}


def test_subclass_error_maps_to_its_kit_kind_without_importing_the_service():
    back = from_remote(remote(TicketNotFound()))
    assert isinstance(back, NotFound)
    assert (back.code, back.detail) == ("TICKET_NOT_FOUND", "工单不存在")


def test_foreign_remote_errors_are_not_mistaken_for_ours():
    assert from_remote(RemoteError("KeyError", "'x'")) is None
    assert from_remote(RemoteError("ValueError", '{"kind": "nonsense"}')) is None


def test_extra_travels_too():
    back = from_remote(remote(Conflict("已存在", extra={"id": "t-1"})))
    assert back.extra == {"id": "t-1"}
