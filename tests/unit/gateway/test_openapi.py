"""The OpenAPI document is generated from the same routes and schemas the gateway serves."""

from openapi_spec_validator import validate

from gateway.api import ROUTES, openapi
from gateway.service import GatewayService  # noqa: F401 - declares the routes


def test_document_is_valid_openapi_3():
    validate(openapi())


def test_every_route_is_documented_with_its_schemas():
    doc = openapi()
    for route in ROUTES:
        path = route.path.replace("<", "{").replace(">", "}")
        op = doc["paths"][path][route.method.lower()]
        assert op["summary"], route.name
        if route.op.body is not None:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.split("/")[-1] in doc["components"]["schemas"]
        if not route.op.public:
            assert op["security"] == [{"bearer": []}] and "401" in op["responses"]


def test_public_intake_needs_no_token_and_documents_the_center_field():
    doc = openapi()
    op = doc["paths"]["/api/v1/public/tickets"]["post"]
    assert "security" not in op
    schema = doc["components"]["schemas"]["PublicIntake"]
    assert {"center_id", "category", "description"} <= set(schema["required"])
    assert schema["properties"]["description"]["maxLength"] == 4000


def test_intake_documents_a_repeat_as_200_with_the_same_receipt():
    doc = openapi()
    for path in ("/api/v1/tickets", "/api/v1/public/tickets"):
        responses = doc["paths"][path]["post"]["responses"]
        assert responses["200"]["content"] == responses["201"]["content"]
        assert "重复提交" in responses["200"]["description"]


def test_a_broker_that_cannot_be_reached_is_a_503_with_retry_after_never_a_500():
    from kombu.exceptions import OperationalError
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from gateway.api import _failure

    tickets = next(r for r in ROUTES if r.path == "/api/v1/tickets" and r.method == "GET")
    request = Request(EnvironBuilder(path="/api/v1/tickets").get_environ())
    for exc in (OperationalError("[Errno 111] Connection refused"), ConnectionResetError(104)):
        response = _failure(tickets, request, exc)
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        assert "消息服务" in response.get_json()["detail"]
