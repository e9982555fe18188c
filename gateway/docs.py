"""The browsable API docs at ``/api/v1/docs``: Swagger UI on ``/api/v1/openapi.json``.

Swagger UI comes from the PyPI package ``swagger-ui-bundle`` (its files are not copied
into this repository) and is served by the gateway itself, page and assets: no CDN, so
the docs work on a network with no way out. The page is ours (a Chinese title, the
project's document, no link to the public validator); the package's ``index.html`` and
its petstore initializer are never served.
"""

from __future__ import annotations

import functools
import html
import json
import mimetypes
from pathlib import Path

from swagger_ui_bundle import swagger_ui_path
from werkzeug.wrappers import Request, Response

from gateway.http import problem

DOCS_PATH = "/api/v1/docs"
OPENAPI_URL = "/api/v1/openapi.json"
TITLE = "连心桥 API 接口文档"
#: Our initializer, served under the name the package's page would load.
INITIALIZER = "swagger-initializer.js"
#: The package's own page and template: never served (ours replaces them).
NOT_SERVED = frozenset({"index.html", "index.j2", INITIALIZER})
#: Assets keep for a day; a new package version is a new gateway release anyway.
CACHE = "public, max-age=86400"

PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{title}</title>
    <link rel="stylesheet" href="{base}/swagger-ui.css">
    <link rel="stylesheet" href="{base}/index.css">
    <link rel="icon" type="image/png" href="{base}/favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <noscript>本页需要启用 JavaScript；接口文档原文见 <a href="{spec}">{spec}</a>。</noscript>
    <div id="swagger-ui"></div>
    <script src="{base}/swagger-ui-bundle.js" charset="utf-8"></script>
    <script src="{base}/{initializer}" charset="utf-8"></script>
  </body>
</html>
"""

#: Swagger UI on our document only: no URL bar (BaseLayout), no call to the public
#: validator (``validatorUrl: null``), the caller's token kept across reloads.
INITIALIZER_JS = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: %s,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
};
"""


def bundle_dir() -> Path:
    """Where the installed ``swagger-ui-bundle`` keeps Swagger UI's files."""
    return Path(str(swagger_ui_path))


def page() -> Response:
    """The docs page (HTML, Chinese title)."""
    body = PAGE.format(
        title=html.escape(TITLE),
        base=DOCS_PATH,
        spec=OPENAPI_URL,
        initializer=INITIALIZER,
    )
    return Response(body, mimetype="text/html", headers={"Cache-Control": "no-cache"})


@functools.cache
def _served() -> dict[str, Path]:
    """The assets that may be asked for, by name: the package's files but its own page."""
    return {f.name: f for f in bundle_dir().iterdir() if f.is_file() and f.name not in NOT_SERVED}


@functools.cache
def _read(name: str) -> bytes:
    return _served()[name].read_bytes()


def asset(request: Request, name: str) -> Response:
    """One of Swagger UI's files, or our initializer; 404 (problem+json) for anything else
    (no path outside the package's folder can be named: only its file names are known)."""
    if name == INITIALIZER:
        body = (INITIALIZER_JS % json.dumps(OPENAPI_URL)).encode()
        mimetype = "text/javascript"
    elif name in _served():
        body = _read(name)
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if name.endswith(".map"):
            mimetype = "application/json"
    else:
        return problem(404, f"没有这个文档资源：{name}", "NO_SUCH_ASSET", instance=request.path)
    response = Response(body, mimetype=mimetype, headers={"Cache-Control": CACHE})
    response.add_etag()
    return response.make_conditional(request)
