"""No HTML page the service serves loads anything from another site: no script, style sheet, font,
image or frame from a CDN. The API docs' Swagger UI files are served by the app itself, and there
is no ReDoc page (its script would come from a CDN and the page is blank offline).

Checked twice: every template, as written, and every HTML page the URL map serves, as rendered."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from tests.support.console import console_login

TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "templates"
# The attributes by which a tag makes the browser load something (links `<a href>` only navigate).
LOADING = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
    "image": ("href",),
    "use": ("href",),
}
# http://host, https://host, //host (and any other scheme with a host).
OFF_SITE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
# A style sheet's @import or url() to another host.
CSS_OFF_SITE = re.compile(r"(?:@import\s+|url\(\s*)['\"]?\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
# In a template, an asset's address may be a path of this site or url_for's; any other expression
# could name another site.
TEMPLATE_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


class _Loads(HTMLParser):
    """Collects what a page makes the browser load: asset addresses and style sheet text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.addresses: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in LOADING.get(tag, ()):
                parts = value.split(",") if name == "srcset" else [value]
                self.addresses.extend(f"<{tag} {name}> {part.strip()}" for part in parts)
            if name == "style":
                self.styles.append(value)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def off_site_loads(html: str) -> list[str]:
    """Everything the page would load from another site."""
    parser = _Loads()
    parser.feed(html)
    parser.close()
    found = [address for address in parser.addresses if OFF_SITE.match(address.split("> ", 1)[1])]
    found += [f"<style> {match.group(0)}" for css in parser.styles for match in CSS_OFF_SITE.finditer(css)]
    return found


def template_loads(html: str) -> list[str]:
    """A template's asset addresses that are neither a path of this site nor built by url_for."""
    parser = _Loads()
    parser.feed(html)
    parser.close()
    suspicious = []
    for address in parser.addresses:
        value = address.split("> ", 1)[1]
        expressions = TEMPLATE_EXPRESSION.findall(value)
        if any(not expression.strip().startswith("url_for(") for expression in expressions):
            suspicious.append(address)
    return suspicious + off_site_loads(html)


def test_the_check_finds_every_kind_of_off_site_load():
    page = """<html><head>
    <script src="https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"></script>
    <link rel="stylesheet" href="//unpkg.com/swagger-ui-dist/swagger-ui.css">
    <style>@import url("https://fonts.googleapis.com/css?family=Roboto"); b { color: red }</style>
    </head><body style="background: url(http://example.com/bg.png)">
    <img src="/static/logo.png" srcset="/a.png 1x, https://img.example.com/b.png 2x">
    <a href="https://registry.example.com/record">a link only navigates</a>
    <script src="/api/docs/swagger-ui/swagger-ui-bundle.js"></script>
    </body></html>"""
    assert off_site_loads(page) == [
        "<script src> https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js",
        "<link href> //unpkg.com/swagger-ui-dist/swagger-ui.css",
        "<img srcset> https://img.example.com/b.png 2x",
        '<style> url("https://',
        "<style> url(http://",
    ]
    assert template_loads('<script src="{{ cdn }}/x.js"></script>') == ["<script src> {{ cdn }}/x.js"]
    assert template_loads("<link href=\"{{ url_for('console.static', filename='a.css') }}\">") == []


def test_no_template_loads_anything_from_another_site():
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 10  # the walk reached the console's templates too
    found = {str(t.relative_to(TEMPLATES)): template_loads(t.read_text(encoding="utf-8")) for t in templates}
    assert {name: loads for name, loads in found.items() if loads} == {}


def test_no_page_the_service_serves_loads_anything_from_another_site(app, client):
    console_login(client)  # so the console's pages render rather than redirect to the login form
    pages: dict[str, list[str]] = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", "1", rule.rule)
        response = client.get(path)
        if response.mimetype == "text/html":
            pages[path] = off_site_loads(response.get_data(as_text=True))
    # The console, the API docs and the public pages (verification, disclosures, records) were seen.
    assert "/api/docs/swagger" in pages and "/console/" in pages and "/console/login" in pages
    assert len(pages) > 20, sorted(pages)
    assert {path: loads for path, loads in pages.items() if loads} == {}


def test_the_api_docs_serve_no_redoc_page(app, client):
    assert not app.config.get("OPENAPI_REDOC_PATH")
    assert client.get("/api/docs/redoc").status_code == 404
    swagger = client.get("/api/docs/swagger").get_data(as_text=True)
    assert "/api/docs/swagger-ui/swagger-ui-bundle.js" in swagger and off_site_loads(swagger) == []
