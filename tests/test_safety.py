"""Profile data and templates cannot make a booklet read local files, reach the network or embed files."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import pytest
import yaml
from booklets import page_texts, small_workspace
from conftest import requires_poppler
from pypdf import PdfReader
from weasyprint.urls import FatalURLFetchingError

from packgen.assets import builtin_templates_dir
from packgen.build import read_and_assign
from packgen.config import load_config
from packgen.content.plans import booklet_content
from packgen.errors import ConfigError
from packgen.render import Renderer
from packgen.render.engine import _fetcher
from packgen.render.fetch import FetchPolicy, ForbiddenURL
from packgen.render.fonts import missing_glyphs

ROSTER = "党员编号,姓名,所在党支部,流动类型,网络条件\n"
EVIL = '<img src="file:///etc/passwd">'


def override(workspace: Path, body: str, name: str = "booklet.html.j2") -> None:
    (workspace / "templates").mkdir(exist_ok=True)
    (workspace / "templates" / name).write_text(body, encoding="utf-8")


def image_xobjects(pdf: Path) -> list[str]:
    found = []
    for number, page in enumerate(PdfReader(pdf).pages, 1):
        xobjects = page.get("/Resources", {}).get("/XObject", {})
        found += [
            f"page {number} {k}" for k, v in xobjects.items() if v.get_object().get("/Subtype") == "/Image"
        ]
    return found


@requires_poppler
def test_html_in_a_name_prints_as_text_and_embeds_nothing(run, tmp_path: Path) -> None:
    small_workspace(tmp_path, ROSTER + 'A1,"<img src=""file:///etc/passwd"">",东湖村党支部,境外,良好\n')
    result = run("build", "-q", "-j", "1")
    assert result.exit_code == 0, result.output
    pdf = tmp_path / "output" / "booklets" / "A1.pdf"
    texts = page_texts(pdf)
    assert EVIL in texts[1]  # the running header prints the name literally
    assert "root:" not in "".join(texts)
    assert image_xobjects(pdf) == []
    catalog = PdfReader(pdf).trailer["/Root"]
    assert "/EmbeddedFiles" not in catalog.get("/Names", {})


def test_autoescape_is_on_whatever_the_template_file_is_called(tmp_path: Path) -> None:
    workspace = small_workspace(tmp_path / "ws", ROSTER + 'A1,"<b>x</b>",东湖村党支部,境外,良好\n')
    override(
        workspace,
        '{% extends "builtin/booklet.html.j2" %}{% block letter %}{% include "note.txt" %}{% endblock %}',
    )
    override(workspace, "<p class='note'>{{ member.name }}</p>", name="note.txt")
    config = load_config(workspace=workspace)
    _, [(member, assignment)] = read_and_assign(config, [])
    html = Renderer(config).html(booklet_content(config, member, assignment))
    assert "<p class='note'>&lt;b&gt;x&lt;/b&gt;</p>" in html
    assert "<b>x</b>" not in html


@pytest.mark.parametrize(
    "markup",
    [
        '<img src="file:///etc/passwd">',
        '<img src="../../../../../../../../etc/passwd">',
        '<link rel="stylesheet" href="/etc/passwd">',
        "<style>@import url(file:///etc/passwd);</style>",
    ],
)
def test_template_cannot_load_a_local_file_outside_the_workspace(run, tmp_path: Path, markup: str) -> None:
    small_workspace(tmp_path)
    override(tmp_path, '{% extends "builtin/booklet.html.j2" %}{% block head %}' + markup + "{% endblock %}")
    result = run("build", "-q", "-j", "1", "--only", "A1")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "failed: A1 张三: roster.csv, row 2 (A1): the booklet tried to load a local file outside the templates "
        "and workspace: /etc/passwd; a template may only load files inside the workspace (move the file there "
        "and link it by a relative path)"
    )
    manifest = json.loads((tmp_path / "output" / "manifest.json").read_text(encoding="utf-8"))
    assert [(e["id"], e["status"], e["file"]) for e in manifest["members"]] == [("A1", "failed", "")]
    assert not list((tmp_path / "output" / "booklets").iterdir())


def test_template_cannot_reach_the_network_unless_the_host_is_allowed(run, tmp_path: Path) -> None:
    small_workspace(tmp_path)
    override(
        tmp_path,
        '{% extends "builtin/booklet.html.j2" %}{% block head %}'
        "<style>body { background: url(https://example.org/x.png) }</style>{% endblock %}",
    )
    result = run("build", "-q", "-j", "1", "--only", "A1")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "failed: A1 张三: roster.csv, row 2 (A1): the booklet tried to load https://example.org/x.png; only "
        "data: URLs, workspace files and hosts listed under allowed_hosts in packgen.yaml may be loaded"
    )


@pytest.fixture
def local_server(monkeypatch: pytest.MonkeyPatch):
    """A real HTTP server on 127.0.0.1 serving b'hello' at any path; yields its port."""
    for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_fetcher_loads_from_an_allowed_host_only(local_server: int, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{local_server}/x.txt"
    with pytest.raises(ForbiddenURL) as refused:
        FetchPolicy([tmp_path]).check(url)
    assert str(refused.value) == (
        f"the booklet tried to load {url}; only data: URLs, workspace files and hosts listed under "
        "allowed_hosts in packgen.yaml may be loaded"
    )
    response = _fetcher(FetchPolicy([tmp_path], allowed_hosts=["127.0.0.1"])).fetch(url)
    assert response.read() == b"hello"
    refusing = _fetcher(FetchPolicy([tmp_path]))
    with pytest.raises(FatalURLFetchingError, match="only data: URLs, workspace files and hosts"):
        refusing.fetch(url)  # fatal: WeasyPrint stops the document, it does not skip the URL


def test_fetcher_allows_data_urls_and_workspace_files_but_not_symlinks_out(tmp_path: Path) -> None:
    fetcher = _fetcher(FetchPolicy([tmp_path]))
    assert fetcher.fetch("data:text/plain,ok").read() == b"ok"
    (tmp_path / "logo.svg").write_text("<svg/>", encoding="utf-8")
    assert fetcher.fetch((tmp_path / "logo.svg").as_uri()).read() == b"<svg/>"
    (tmp_path / "link").symlink_to("/etc/passwd")
    with pytest.raises(ForbiddenURL, match="outside the templates and workspace: /etc/passwd;"):
        fetcher.policy.check((tmp_path / "link").as_uri())
    with pytest.raises(ForbiddenURL, match="ftp://example.org/x"):
        fetcher.policy.check("ftp://example.org/x")


@pytest.mark.parametrize(
    "tag", ['<a rel="attachment" href="print.css">x</a>', '<link rel="Attachment" href="print.css">']
)
def test_attachments_are_disabled(tmp_path: Path, tag: str) -> None:
    workspace = small_workspace(tmp_path / "ws")
    override(workspace, '{% extends "builtin/booklet.html.j2" %}{% block head %}\n' + tag + "{% endblock %}")
    config = load_config(workspace=workspace)
    _, assigned = read_and_assign(config, [])
    member, assignment = assigned[0]
    with pytest.raises(ConfigError) as refused:
        Renderer(config).html(booklet_content(config, member, assignment))
    element = tag[1 : tag.index(" ")]
    assert str(refused.value).startswith(
        f'template {workspace / "templates" / "booklet.html.j2"}: <{element} rel="attachment"> (line '
    )
    assert str(refused.value).endswith(
        "of the rendered booklet) would embed a file in the PDF; attachments are disabled in booklets, remove the rel"
    )


def test_a_character_no_font_prints_fails_that_member_by_name_field_and_character(
    run, tmp_path: Path
) -> None:
    small_workspace(
        tmp_path, ROSTER + "A1,张\U000f0003,东湖村党支部,境外,良好\nA2,李四,东湖村党支部,境外,良好\n"
    )
    result = run("build", "-q", "-j", "1")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "failed: A1 张\U000f0003: roster.csv, row 2 (A1 张\U000f0003): field 'name' has characters no installed font can "
        "print: \U000f0003 (U+F0003); install a font that covers them (packgen doctor lists fonts) or correct the value"
    )
    manifest = json.loads((tmp_path / "output" / "manifest.json").read_text(encoding="utf-8"))
    assert {e["id"]: e["status"] for e in manifest["members"]} == {"A1": "failed", "A2": "built"}


def test_extra_columns_are_checked_for_glyphs_too(tmp_path: Path) -> None:
    workspace = small_workspace(
        tmp_path / "ws",
        "党员编号,姓名,所在党支部,流动类型,网络条件,籍贯\nA1,张三,东湖村党支部,境外,良好,\U000f0001乡\n",
    )
    config = load_config(workspace=workspace)
    _, [(member, assignment)] = read_and_assign(config, [])
    with pytest.raises(
        Exception, match=r"field '籍贯' has characters no installed font can print: \U000f0001 \(U\+F0001\)"
    ):
        Renderer(config).html(booklet_content(config, member, assignment))


def test_invisible_marks_in_a_name_need_no_glyph(tmp_path: Path) -> None:
    """An ideographic variation selector after a name's character, or bidi marks pasted along with a
    name, print as nothing (Pango lays them out as nothing), so no font needs to cover them."""
    assert missing_glyphs("葛\U000e0100亮\u2066\u2069\u00ad") == []
    assert missing_glyphs("葛\U000f0000") == ["\U000f0000"]
    workspace = small_workspace(
        tmp_path / "ws",
        "党员编号,姓名,所在党支部,流动类型,网络条件\nA1,\u2066葛\U000e0100亮\u2069,东湖村党支部,境外,良好\n",
    )
    config = load_config(workspace=workspace)
    _, [(member, assignment)] = read_and_assign(config, [])
    assert "葛\U000e0100亮" in Renderer(config).html(booklet_content(config, member, assignment))


def test_a_character_no_font_prints_in_the_config_fails_with_the_character(tmp_path: Path) -> None:
    workspace = small_workspace(tmp_path / "ws")
    config = yaml.safe_load((workspace / "packgen.yaml").read_text(encoding="utf-8"))
    config["plans"]["online"]["summary"] = "扫码学习\U000f0002"
    (workspace / "packgen.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    config = load_config(workspace=workspace)
    _, assigned = read_and_assign(config, [])
    member, assignment = next((m, a) for m, a in assigned if a.plan == "online")
    with pytest.raises(ConfigError) as refused:
        Renderer(config).html(booklet_content(config, member, assignment))
    assert str(refused.value) == (
        f"template {builtin_templates_dir() / 'booklet.html.j2'}: the booklet's text (from the config, a template "
        "or a materials chapter) has characters no installed font can print: \U000f0002 (U+F0002); install a font "
        "that covers them (packgen doctor lists fonts) or correct the text"
    )


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("{{ member.name + 1 }}", 'TypeError: can only concatenate str (not "int") to str'),
        ("{% if member.name %}{{ member.name | nosuch }}{% endif %}", "No filter named 'nosuch' found."),
    ],
)
def test_a_template_that_fails_as_it_renders_names_its_file_and_line(
    run, tmp_path: Path, line: str, error: str
) -> None:
    small_workspace(tmp_path)
    override(
        tmp_path, f'{{% extends "builtin/booklet.html.j2" %}}\n{{% block letter %}}\n{line}\n{{% endblock %}}'
    )
    result = run("preview", "A1", "--pdf", tmp_path / "a1.pdf")
    assert result.exit_code == 1
    assert result.output == (
        f"error: roster.csv, row 2: template {tmp_path / 'templates' / 'booklet.html.j2'}, line 3: {error}\n"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '{% extends "booklet.html.j2" %}{% block letter %}x{% endblock %}',
            "template booklet.html.j2 in {templates} extends itself; a workspace template extends the "
            'built-in one as {{% extends "builtin/booklet.html.j2" %}}',
        ),
        (
            "{% if member.name %}\n<p>unclosed</p>\n",
            "template {templates}/booklet.html.j2, line 2: Unexpected end of template. Jinja was looking for "
            "the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed "
            "is 'if'.",
        ),
    ],
)
def test_a_broken_template_stops_the_build_before_any_booklet(
    run, tmp_path: Path, body: str, message: str
) -> None:
    small_workspace(tmp_path)
    override(tmp_path, body)
    for command in (["build", "-j", "1"], ["validate"]):
        result = run(*command)
        assert (result.exit_code, result.output) == (
            2, f"error: {message.format(templates=tmp_path / 'templates')}\n"
        )  # fmt: skip
    assert not (tmp_path / "output" / "booklets").exists()


def test_a_template_saved_in_gbk_says_to_save_it_as_utf8(run, tmp_path: Path) -> None:
    small_workspace(tmp_path)
    (tmp_path / "templates").mkdir(exist_ok=True)
    template = tmp_path / "templates" / "booklet.html.j2"
    template.write_bytes('{% extends "builtin/booklet.html.j2" %}{# 注释 #}'.encode("gbk"))
    result = run("build")
    assert (result.exit_code, result.output) == (2, f"error: {template}: not UTF-8 text; save it as UTF-8\n")


def test_what_weasyprint_would_ignore_in_a_workspace_stylesheet_is_a_warning(run, tmp_path: Path) -> None:
    small_workspace(tmp_path)
    override(  # nothing it imports is fetched for the check
        tmp_path, '@import "http://127.0.0.1:9/x.css";\nh1 { color: red; font-size: ; }\np { margin: 3mmm; }\n',
        name="print.css",
    )  # fmt: skip
    result = run("validate")
    assert result.exit_code == 0
    css = tmp_path / "templates" / "print.css"
    assert result.stderr.splitlines() == [
        f"warning: {css}, line 2: Ignored `font-size: ` at 2:18, no value. The booklets are printed without it.",
        f"warning: {css}, line 3: Ignored `margin: 3mmm` at 3:5, invalid value. The booklets are printed "
        "without it.",
    ]
    assert run("validate", "--strict").exit_code == 1
