"""``packgen serve``: the plan table and a member's booklet in a browser, refreshed on every save.

The server runs for real (uvicorn on 127.0.0.1, a free port, in a thread, always stopped); pages
are fetched with httpx, and once end to end with Debian's Chromium driven by Playwright.
"""

from __future__ import annotations

import html
import io
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from booklets import CHAPTER, FOREVER, override_letter, small_workspace
from conftest import ROOT, pdftotext, requires_poppler
from markupsafe import escape

from packgen.assets import builtin_templates_dir
from packgen.serve import LiveServer, LiveWorkspace
from packgen.serve.pages import POPPLER_MISSING

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@contextmanager
def serving(root: Path, timeout: float = 120.0) -> Iterator[LiveServer]:
    """``packgen serve`` for the workspace ``root`` on a free port of 127.0.0.1, stopped afterwards."""
    workspace = LiveWorkspace(root / "packgen.yaml", workspace=root, timeout=timeout)
    workspace.reload()
    server = LiveServer(workspace, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started or not thread.is_alive():
                break
            time.sleep(0.02)
        assert server.started, "the server did not start"
        yield server
    finally:
        server.stop()
        thread.join(20)
    assert not thread.is_alive(), "the server did not stop"


def files_in(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*"))}


HOSTILE = '<script>alert("x")</script>'


def cells(row: str) -> list[str]:
    """The text of each cell of a table row, as a browser shows it."""
    return [
        html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<td>(.*?)</td>", row, re.DOTALL)
    ]


def test_the_plan_table_lists_every_member_escaped_with_the_counts(tmp_path: Path) -> None:
    root = small_workspace(
        tmp_path / "ws",
        "党员编号,姓名,所在党支部,流动类型,网络条件,邮寄地址,指定学习方式\n"
        f"A1,{HOSTILE},东湖村党支部,境外,良好,,\n"
        "A2,李四,西山村党支部,市内,较差,,送学上门\n",
    )
    with serving(root) as server:
        page = httpx.get(server.url)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert HOSTILE not in page.text
    assert str(escape(HOSTILE)) in page.text
    rows = re.findall(r"<tr data-branch=.*?</tr>", page.text, re.DOTALL)
    assert [cells(row) for row in rows] == [
        ["A1", HOSTILE, "东湖村党支部", "线上联学", "规则“境外党员”：身在境外，无法返乡参学，通过网络参加线上联学"],
        ["A2", "李四", "西山村党支部", "送学上门", "本人或组织指定学习方式：送学上门送学上门但没有邮寄地址 (delivered, but no address)"],
    ]  # fmt: skip
    cards = re.findall(r'<div class="card[^"]*"><b>(\d+)</b> ([^<]+)</div>', page.text)
    assert cards == [("2", "名党员 members"), ("1", "送学上门"), ("1", "线上联学"), ("0", "就地自学"), ("1", "未能覆盖 not covered")]  # fmt: skip


def test_the_problems_validate_lists_are_shown_at_the_top(run, tmp_path: Path) -> None:
    root = small_workspace(
        tmp_path / "ws",
        "党员编号,姓名,所在党支部,流动类型,网络条件,邮寄地址\n"
        "A1,张三,东湖村党支部,境外,良好,\n"
        "A2,,西山村党支部,火星,较差,临江县人民路1号\n",
    )
    validate = run("validate", "-c", root / "packgen.yaml")
    assert validate.exit_code == 1
    listed = validate.stderr.splitlines()
    assert listed == [
        f"error: {root / 'profiles' / 'roster.csv'}, row 3, column '流动类型': '火星': unknown mobility type "
        "(流动类型); expected one of 市内 / 本市 / 县内 / 省内 / 本省 / 省外 / 外省 / 境外 / 国外 / 在途 / 跑运输 / 市内流动 / "
        "省内流动 / 省内跨市流动 / 跨省流动 / 出国（境） (or within_city / within_province / out_of_province / abroad / "
        "on_the_road); if it means one of them, say so under values: in packgen.yaml:",
        "  values:",
        "    mobility:",
        "      火星: within_city  # or within_province, out_of_province, abroad, on_the_road",
        f"error: {root / 'profiles' / 'roster.csv'}, row 3, column '姓名': name is empty; every member needs one",
    ]
    with serving(root) as server:
        page = httpx.get(server.url).text
    found = re.findall(r'<li class="(?:error|warning)">(.*?)</li>', page, re.DOTALL)
    shown = [html.unescape(item) for item in found]
    assert "\n".join(shown).splitlines() == listed  # the lines to add under values: in the same item
    assert "2 个错误 errors，0 个警告 warnings" in page


@requires_poppler
def test_a_members_page_their_booklet_and_its_page_images(tmp_path: Path) -> None:
    from PIL import Image

    root = small_workspace(tmp_path / "ws")
    before = files_in(root)
    with serving(root) as server:
        page = httpx.get(server.url + "member/A1", timeout=60)
        pdf = httpx.get(server.url + "member/A1/booklet.pdf")
        first = re.search(r'<img src="(/member/A1/page/1\.png\?v=\w+)"', page.text)
        assert first is not None
        image = httpx.get(server.url + first[1].lstrip("/"))
        too_far = httpx.get(server.url + "member/A1/page/99.png")
        nobody = httpx.get(server.url + "member/NOPE")
    assert page.status_code == 200
    assert "<dt>编号 id</dt><dd>A1</dd>" in page.text
    assert "✓</span>\n            <b>境外党员</b>" in page.text
    (tmp_path / "a1.pdf").write_bytes(pdf.content)
    pages = len(re.findall(r'<figure class="page"', page.text))
    assert f"{pages} 页 pages" in page.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert "张三" in pdftotext(tmp_path / "a1.pdf", 1, 1)
    assert pdftotext(tmp_path / "a1.pdf").count("\f") == pages
    assert image.headers["cache-control"] == "max-age=86400, immutable"
    assert Image.open(io.BytesIO(image.content)).size == (583, 827)  # A5 at 100 dpi
    assert (too_far.status_code, too_far.text) == (404, f"the booklet has {pages} pages, not 99")
    assert nobody.status_code == 404
    assert "error: no member with id or name &#39;NOPE&#39; in the profiles (2 members read)" in nobody.text
    assert files_in(root) == before  # read-only: nothing written into the workspace, no output/


def test_no_request_reaches_a_file_but_through_a_member_id(tmp_path: Path) -> None:
    root = small_workspace(tmp_path / "ws")
    with serving(root) as server:
        client = httpx.Client(base_url=server.url.rstrip("/"))
        for path in ("/member/..%2Fpackgen.yaml/booklet.pdf", "/member/../../packgen.yaml",
                     "/static/..%2F..%2Fworkspace.py", "/packgen.yaml", "/profiles/roster.csv"):  # fmt: skip
            response = client.get(path)
            assert response.status_code == 404, path
            assert "organization" not in response.text and "张三" not in response.text
        rebound = client.get("/", headers={"Host": "evil.example"})
    assert (rebound.status_code, rebound.text) == (400, "Invalid host header")


def test_a_booklet_past_the_time_limit_fails_alone_and_the_server_goes_on(tmp_path: Path) -> None:
    """serve renders in a thread, where no alarm signal reaches: the limit still stops a template
    that never ends (received templates are untrusted), and the next member's booklet renders."""
    root = small_workspace(tmp_path / "ws")
    override_letter(root, f'{{% if member.id == "A1" %}}{FOREVER}{{% endif %}}{{{{ super() }}}}')
    with serving(root, timeout=3) as server:  # finding validate's problems meets the loop too
        client = httpx.Client(base_url=server.url.rstrip("/"), timeout=60)
        page = client.get("/member/A1", params={"fragment": "1"})
        server.live.workspace.timeout = 120  # A2's first booklet, its shared pages too, in a busy CI
        other = client.get("/member/A2/booklet.pdf")
    assert page.status_code == 200
    assert str(escape(
        "error: roster.csv, row 2 (A1): rendering took longer than the time limit of 3 s per booklet "
        "and was stopped; if this booklet really is that large, raise the limit with --timeout SECONDS"
    )) in page.text  # fmt: skip
    assert other.status_code == 200 and other.content.startswith(b"%PDF")


def test_a_change_renders_again_only_what_it_touches(tmp_path: Path) -> None:
    root = small_workspace(tmp_path / "ws")
    workspace = LiveWorkspace(root / "packgen.yaml", workspace=root)
    assert workspace.reload() == {"roster", "materials", "templates", "config"}

    def render_a1() -> int:
        workspace.booklet(workspace.preview("A1"))
        return workspace.renders

    assert render_a1() == 1
    roster = root / "profiles" / "roster.csv"
    roster.write_text(roster.read_text(encoding="utf-8").replace("李四", "李四海"), encoding="utf-8")
    assert workspace.reload({roster}) == {"roster"}
    assert [m.name for m, _ in workspace.assigned] == ["张三", "李四海"]
    assert render_a1() == 1  # A1's data and plan did not change
    config = root / "packgen.yaml"
    config.write_text("# 只改注释\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    assert workspace.reload({config}) == {"config"}
    assert render_a1() == 1  # the same settings
    assert workspace.reload({root / "notes.txt", root / "output" / "manifest.json"}) == set()
    chapter = root / "materials" / "short.md"
    chapter.write_text(CHAPTER + "\n新增一段。\n", encoding="utf-8")
    assert workspace.reload({chapter}) == {"materials"}
    assert render_a1() == 2
    (root / "templates").mkdir()
    css = (builtin_templates_dir() / "print.css").read_text(encoding="utf-8")
    (root / "templates" / "print.css").write_text(css.replace("#a4161a", "#1d4e89"), encoding="utf-8")
    assert workspace.reload({root / "templates" / "print.css"}) == {"templates"}
    assert render_a1() == 3
    roster.write_text(roster.read_text(encoding="utf-8").replace("张三", "张三丰"), encoding="utf-8")
    assert workspace.reload({roster}) == {"roster"}
    assert render_a1() == 4  # A1's name is on the cover


def test_the_problems_beyond_the_rows_are_found_after_the_open_booklets_show_a_change(
    run, tmp_path: Path
) -> None:
    root = small_workspace(tmp_path / "ws")
    workspace = LiveWorkspace(root / "packgen.yaml", workspace=root)
    workspace.reload()
    assert workspace.problems == []
    (root / "templates").mkdir()
    css = root / "templates" / "print.css"
    css.write_text(
        (builtin_templates_dir() / "print.css").read_text(encoding="utf-8") + "h1 { margin: 3mmm }\n"
    )
    workspace.reload({css}, problems_later=True)
    assert workspace.problems == []  # the open booklets first
    version = workspace.version
    assert workspace.update_problems() is True
    assert workspace.version == version + 1  # the pages fetch the problems
    listed = run("validate", "-c", root / "packgen.yaml").stderr.splitlines()
    assert [f"{p.severity}: {p}" for p in workspace.problems] == listed
    assert listed[0].startswith(f"warning: {css}, line ")
    assert workspace.update_problems() is False  # nothing changed since


def test_a_config_or_template_error_is_shown_as_the_command_line_says_it(run, tmp_path: Path) -> None:
    root = small_workspace(tmp_path / "ws")
    workspace = LiveWorkspace(root / "packgen.yaml", workspace=root)
    workspace.reload()
    config = root / "packgen.yaml"
    good = config.read_text(encoding="utf-8")
    config.write_text(good.replace("default_plan: self_study", "default_plan: by_post"), encoding="utf-8")
    assert workspace.reload({config}) == {"config"}
    assert workspace.error == run("validate", "-c", config).stderr.strip()
    assert workspace.error.startswith(f"error: {config}: 1 problem(s) in the config:\n  - line ")
    config.write_text(good, encoding="utf-8")
    workspace.reload({config})
    assert workspace.error == ""
    (root / "templates").mkdir()
    template = root / "templates" / "booklet.html.j2"
    template.write_text('{% extends "builtin/booklet.html.j2" %}\n{% block cover %}{% if %}{% endblock %}\n')
    workspace.reload({template})
    assert workspace.error == run("validate", "-c", config).stderr.strip()
    assert (
        workspace.error
        == f"error: template {template}, line 2: Expected an expression, got 'end of statement block'"
    )


def test_without_poppler_the_booklet_is_a_link_to_its_pdf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("packgen.serve.workspace.poppler_installed", lambda: False)
    root = small_workspace(tmp_path / "ws")
    with serving(root) as server:
        page = httpx.get(server.url + "member/A2", timeout=60).text
    assert str(escape(POPPLER_MISSING)) in page
    assert '<a href="/member/A2/booklet.pdf"' in page
    assert "<figure" not in page


def test_serve_refuses_a_port_in_use_and_says_what_to_do(run) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", port)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --port {port}: another program listens on 127.0.0.1:{port}; choose another port "
        "(--port 0 takes a free one)\n"
    )


def test_serve_listens_on_this_machine_only_says_what_changed_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    root = small_workspace(tmp_path / "ws")
    command = [str(Path(sys.executable).parent / "packgen"), "serve", "--port", "0"]
    env = {**os.environ, "NO_COLOR": "1"}
    with subprocess.Popen(
        command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as serve:
        try:
            assert serve.stdout is not None and serve.stderr is not None
            first = serve.stdout.readline()
            match = re.fullmatch(r"packgen serve: (http://127\.0\.0\.1:(\d+)/) \(Ctrl-C stops\)\n", first)
            assert match, first
            assert "张三" in httpx.get(match[1]).text
            lines: queue.Queue[str] = queue.Queue()
            threading.Thread(target=lambda: lines.put(serve.stderr.readline()), daemon=True).start()
            roster = root / "profiles" / "roster.csv"
            roster.write_text(roster.read_text(encoding="utf-8").replace("张三", "张三丰"), encoding="utf-8")
            said = lines.get(timeout=60)
            assert re.fullmatch(r"\d\d:\d\d:\d\d roster changed: pages updated in \d+\.\d\d s\n", said), said
            assert "张三丰" in httpx.get(match[1]).text
            serve.send_signal(signal.SIGINT)
            out, err = serve.communicate(timeout=30)
        finally:
            serve.kill()
    assert (serve.returncode, out, err) == (0, "packgen serve: stopped\n", "")
    assert not (root / "output").exists()


def test_serve_warns_when_other_machines_can_reach_it_and_shows_a_config_error(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LiveServer, "run", lambda server: server.socket.close())  # say, then stop at once
    root = small_workspace(tmp_path / "ws")
    config = root / "packgen.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("A5", "A7"), encoding="utf-8")
    result = run("serve", "-c", config, "--host", "0.0.0.0", "--port", "0")
    assert result.exit_code == 0
    port = re.fullmatch(
        r"packgen serve: http://0\.0\.0\.0:(\d+)/ \(Ctrl-C stops\)\npackgen serve: stopped\n", result.stdout
    )
    assert port, result.stdout
    invalid = run("validate", "-c", config).stderr
    assert result.stderr == (
        f"warning: listening on 0.0.0.0: anyone who can reach this machine on port {port[1]} sees the "
        f"roster and every booklet\n{invalid}the page shows this error until the file is mended\n"
    )


@pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which("pdftoppm") is None, reason="needs chromium and poppler-utils"
)
def test_in_a_browser_an_edit_shows_without_a_reload(run, tmp_path: Path) -> None:
    """Search a member, open their booklet, edit the chapter: the new text is on the page within 2 s;
    a broken config shows its error, the mended one the booklet again.

    The booklet is the cover and the chapter (a workspace template leaves the other parts out), so
    the 2 s are mostly serve's own work, not WeasyPrint laying out pages that did not change: on a
    machine busy with other builds, a full booklet's layout alone can take that long.
    """
    from playwright.sync_api import expect, sync_playwright

    root = small_workspace(tmp_path / "ws")
    (root / "templates").mkdir()
    left_out = ("letter", "toc", "schedule", "links", "delivery", "records", "contacts", "back")
    (root / "templates" / "booklet.html.j2").write_text(
        '{% extends "builtin/booklet.html.j2" %}\n'
        + "".join(f"{{% block {block} %}}{{% endblock %}}\n" for block in left_out),
        encoding="utf-8",
    )
    config = root / "packgen.yaml"
    with serving(root) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(server.url)
            page.get_by_role("searchbox").fill("张三")
            expect(page.locator("#shown")).to_have_text("1 / 2")
            expect(page.locator("table.members tbody tr:visible")).to_have_count(1)
            page.get_by_role("link", name="张三").click()
            expect(page.get_by_text("每天读一页材料")).to_be_attached(timeout=60_000)  # the first render
            page.evaluate("window.notReloaded = true")
            chapter = root / "materials" / "short.md"
            chapter.write_text(CHAPTER.replace("每天读一页材料", "每天读两页材料"), encoding="utf-8")
            expect(page.get_by_text("每天读两页材料")).to_be_visible(timeout=2000)
            page.wait_for_function(
                """() => {
                    const line = [...document.querySelectorAll('.page .text span')]
                        .find((span) => span.textContent.includes('每天读两页材料'));
                    const image = line && line.closest('.page').querySelector('img');
                    image && image.scrollIntoView();
                    return image && image.complete && image.naturalWidth > 0;
                }""",
                timeout=2000,
            )  # the page image with the new text is shown too
            expect(page.get_by_text("每天读一页材料")).to_have_count(0)

            good = config.read_text(encoding="utf-8")
            config.write_text(
                good.replace("default_plan: self_study", "default_plan: by_post"), encoding="utf-8"
            )
            expected = run("validate", "-c", config).stderr.strip()
            expect(page.locator("#error")).to_have_text(expected, timeout=2000)
            expect(page.locator(".booklet")).to_have_count(0)
            config.write_text(good, encoding="utf-8")
            expect(page.get_by_text("每天读两页材料")).to_be_visible(timeout=30_000)
            expect(page.locator("#error")).to_have_count(0)
            assert page.evaluate("window.notReloaded") is True
        finally:
            browser.close()


def test_doctor_says_serve_needs_poppler_for_page_images(run, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run("doctor", "--json")
    assert json.loads(found.stdout)["poppler"] == shutil.which("pdftoppm")
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "pdftoppm" else real(name))
    result = run("doctor")
    assert result.exit_code == 0  # booklets print all the same
    assert result.stdout.endswith(
        "note: pdftoppm and pdftotext (poppler-utils) are missing: packgen serve shows a booklet as a "
        "link to its PDF, not page by page (apt-get install poppler-utils)\n"
        "ok: this machine can print Chinese booklets\n"
    )


def test_readme_shows_screenshots_of_the_plan_table_and_a_member() -> None:
    from PIL import Image

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Live preview: packgen serve") :]
    shown = re.findall(r'<img src="(docs/images/serve-[^"]+\.png)"', section)
    assert shown == ["docs/images/serve-plans.png", "docs/images/serve-member.png"]
    for image in shown:
        with Image.open(ROOT / image) as png:
            assert (png.format, png.size) == ("PNG", (1280, 760))
