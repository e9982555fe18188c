"""The browsable docs (Swagger UI from the installed package), CORS for the configured
origins only, and path values validated like bodies (``²`` is no milestone)."""

from types import SimpleNamespace
from unittest.mock import MagicMock

import pytest
from openapi_spec_validator import validate
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway import docs
from gateway.api import CORS_REQUEST_HEADERS, CorsPolicy, PathInteger, load_path, openapi
from gateway.routes.volunteers import CertificatePath
from gateway.service import GatewayService
from lianxin.contracts.schema import BaseSchema
from lianxin.errors import InvalidInput
from lianxin.roles import Principal

DESK = "https://desk.example.cn"


def request(path: str, method: str = "GET", **headers: str) -> Request:
    return Request(EnvironBuilder(path=path, method=method, headers=headers).get_environ())


def worker(origins: str = DESK) -> SimpleNamespace:
    """What an entrypoint's ``self`` offers, with a staff caller and a mock of each RPC."""
    auth = MagicMock()
    auth.authenticate.return_value = (Principal("s-1", "staff", "yanminghu"), "yanminghu")
    return SimpleNamespace(
        auth=auth,
        context={},
        cors=CorsPolicy.from_config(origins),
        volunteers_rpc=MagicMock(),
    )


# -- docs ---------------------------------------------------------------------------------


def test_the_docs_page_has_a_chinese_title_and_points_at_our_document_and_assets():
    page = docs.page()
    text = page.get_data(as_text=True)
    assert page.mimetype == "text/html"
    assert "<title>连心桥 API 接口文档</title>" in text and 'lang="zh-CN"' in text
    assert "/api/v1/docs/swagger-ui-bundle.js" in text and "/api/v1/docs/swagger-ui.css" in text
    assert "http://" not in text and "https://" not in text  # no CDN
    init = docs.asset(request("/api/v1/docs/swagger-initializer.js"), docs.INITIALIZER)
    script = init.get_data(as_text=True)
    assert '"/api/v1/openapi.json"' in script and "validatorUrl: null" in script
    assert "petstore" not in script


def test_assets_come_from_the_installed_package_and_nothing_else_is_served():
    bundle = docs.asset(request("/api/v1/docs/swagger-ui-bundle.js"), "swagger-ui-bundle.js")
    assert bundle.status_code == 200 and bundle.mimetype == "text/javascript"
    assert bundle.get_data() == (docs.bundle_dir() / "swagger-ui-bundle.js").read_bytes()
    css = docs.asset(request("/api/v1/docs/swagger-ui.css"), "swagger-ui.css")
    assert css.mimetype == "text/css" and "max-age" in css.headers["Cache-Control"]
    again = docs.asset(
        request("/api/v1/docs/swagger-ui.css", If_None_Match=css.headers["ETag"]),
        "swagger-ui.css",
    )
    assert again.status_code == 304
    for name in ("index.html", "index.j2", "../__init__.py", "../../swagger_ui_bundle", "x.js"):
        refused = docs.asset(request(f"/api/v1/docs/{name}"), name)
        assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
        assert refused.get_json()["code"] == "NO_SUCH_ASSET"


# -- CORS ---------------------------------------------------------------------------------


def test_cors_origins_are_read_from_config_and_a_wildcard_is_refused():
    policy = CorsPolicy.from_config(f" {DESK}/ , https://M.example.cn,", "120")
    assert policy.origins == {DESK, "https://m.example.cn"} and policy.max_age == 120
    assert CorsPolicy.from_config(None).origins == frozenset()
    assert CorsPolicy.from_config("").origins == frozenset()
    with pytest.raises(ValueError, match="CORS_ORIGINS"):
        CorsPolicy.from_config("*")


def test_an_allowed_origin_is_answered_and_others_get_no_cors_header():
    from werkzeug.wrappers import Response

    policy = CorsPolicy.from_config(DESK)
    ok = policy.answer(request("/api/v1/tickets", Origin=DESK), Response())
    assert ok.headers["Access-Control-Allow-Origin"] == DESK and ok.headers["Vary"] == "Origin"
    assert "X-Request-Id" in ok.headers["Access-Control-Expose-Headers"]
    other = policy.answer(request("/api/v1/tickets", Origin="https://evil.example"), Response())
    assert not [h for h in other.headers.keys() if h.startswith("Access-Control-")]
    assert other.headers["Vary"] == "Origin"  # a cache must not hand it to the desk
    unset = CorsPolicy.from_config("").answer(request("/", Origin=DESK), Response())
    assert not [h for h in unset.headers.keys() if h.startswith("Access-Control-")]
    assert "Vary" not in unset.headers


def test_a_preflight_from_an_allowed_origin_names_the_paths_methods_and_headers():
    preflight = request(
        "/api/v1/tickets",
        "OPTIONS",
        Origin=DESK,
        Access_Control_Request_Method="POST",
        Access_Control_Request_Headers="authorization, content-type",
    )
    answer = GatewayService.no_route(worker(), preflight, "api/v1/tickets")
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == DESK
    assert answer.headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert answer.headers["Access-Control-Allow-Headers"] == ", ".join(CORS_REQUEST_HEADERS)
    assert answer.headers["Access-Control-Max-Age"] == "600"
    assert answer.headers["Vary"] == "Origin"


def test_a_preflight_from_another_origin_or_with_cors_off_gets_the_plain_options_answer():
    for origin, origins in (("https://evil.example", DESK), (DESK, "")):
        preflight = request(
            "/api/v1/tickets", "OPTIONS", Origin=origin, Access_Control_Request_Method="POST"
        )
        answer = GatewayService.no_route(worker(origins), preflight, "api/v1/tickets")
        assert answer.status_code == 204 and answer.headers["Allow"] == "GET, POST, OPTIONS"
        assert not [h for h in answer.headers.keys() if h.startswith("Access-Control-")]
    nowhere = request(
        "/api/v1/nothing", "OPTIONS", Origin=DESK, Access_Control_Request_Method="GET"
    )
    assert GatewayService.no_route(worker(), nowhere, "api/v1/nothing").status_code == 404


def test_a_routes_answer_carries_the_cors_headers_also_when_it_is_a_refusal():
    self = worker()
    answer = GatewayService.download_certificate(
        self,
        request("/api/v1/volunteers/vol-1/certificates/%C2%B2", Origin=DESK),
        volunteer_id="vol-1",
        milestone="²",
    )
    assert answer.status_code == 422
    assert answer.headers["Access-Control-Allow-Origin"] == DESK


# -- path values --------------------------------------------------------------------------


@pytest.mark.parametrize("segment", ["²", "٥٠", "５０", "fifty", "50hh", "", "-5", "1" * 7])
def test_a_milestone_that_is_not_ascii_digits_is_a_chinese_422_before_any_rpc(segment):
    self = worker()
    answer = GatewayService.download_certificate(
        self,
        request("/api/v1/volunteers/vol-1/certificates/x"),
        volunteer_id="vol-1",
        milestone=segment,
    )
    assert answer.status_code == 422, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["code"] == "INVALID_INPUT" and "milestone" in body["detail"]
    assert body["errors"] == {"milestone": ["证书档次应为小时数，如 50"]}
    self.volunteers_rpc.get_certificate.assert_not_called()


@pytest.mark.parametrize(("segment", "hours"), [("50", 50), ("100h", 100), ("007", 7)])
def test_a_milestone_in_ascii_digits_reaches_the_rpc_as_an_integer(segment, hours):
    self = worker()
    self.volunteers_rpc.get_certificate.return_value = {
        "filename": "证书.pdf",
        "content_type": "application/pdf",
        "data_base64": "JVBERi0=",
    }
    answer = GatewayService.download_certificate(
        self,
        request("/api/v1/volunteers/vol-1/certificates/x"),
        volunteer_id="vol-1",
        milestone=segment,
    )
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    self.volunteers_rpc.get_certificate.assert_called_once_with("yanminghu", "vol-1", hours)
    assert f"certificate-{hours}h.pdf" in answer.headers["Content-Disposition"]


def test_load_path_loads_only_what_the_schema_declares():
    class Path(BaseSchema):
        n = PathInteger()

    assert load_path(Path, {"n": "12", "other": "²"}) == {"n": 12, "other": "²"}
    with pytest.raises(InvalidInput) as err:
        load_path(Path, {"n": "1.5"})
    assert err.value.fields == {"n": ["应为整数"]} and "n" in err.value.detail


def test_the_milestone_is_documented_as_an_integer_path_parameter():
    doc = openapi()
    validate(doc)
    op = doc["paths"]["/api/v1/volunteers/{volunteer_id}/certificates/{milestone}"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["milestone"]["in"] == "path" and params["milestone"]["required"] is True
    assert params["milestone"]["schema"]["type"] == "integer"
    assert params["volunteer_id"]["schema"] == {"type": "string"}
    assert "422" in op["responses"]
    assert set(CertificatePath().fields) == {"milestone"}


def test_the_service_refuses_a_milestone_that_is_no_integer_too():
    from services.volunteers.certificates import milestone_hours_of

    assert milestone_hours_of(50) == 50 and milestone_hours_of("100") == 100
    for bad in ("²", "٥٠", True, 5.0, None, "1" * 7):
        with pytest.raises(InvalidInput):
            milestone_hours_of(bad)
