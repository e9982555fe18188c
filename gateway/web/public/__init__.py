"""Public pages anyone may open without an account: the check of a service-hour certificate
(``/verify/<code>``, where its QR code points; ``/verify`` asks for a code)."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from gateway.routes.certificates import CertificateChecks
from gateway.web import page
from gateway.web.views import error_of, status_of
from lianxin.web import http


class PublicPages(CertificateChecks):
    @http("GET", "/verify")
    def verify_form(self, request: Request) -> Response:
        """The form: type the code printed on the certificate (or follow its QR code)."""
        code = request.args.get("code", "").strip()
        if code:
            return self.verify_page(request, code)
        return page(
            request, "public/verify.html", title="证书查验", code="", result=None, error=None
        )

    @http("GET", "/verify/<code>")
    def verify_page(self, request: Request, code: str) -> Response:
        """Genuine or not, and for whom: the same answer as the JSON check, as a page."""
        try:
            result = self.check_certificate(request, code)
        except Exception as exc:
            error = error_of(exc)
            headers = {}
            if "retry_after" in error.extra:
                headers["Retry-After"] = str(error.extra["retry_after"])
            return page(
                request,
                "public/verify.html",
                status_of(error),
                headers,
                title="证书查验",
                code=code,
                result=None,
                error=error,
            )
        return page(
            request,
            "public/verify.html",
            title="证书查验",
            code=code,
            result=result,
            error=None,
            center_name=result["center_name"],
        )
