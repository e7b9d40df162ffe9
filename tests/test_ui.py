"""The real Gradio app on a loopback port, driven by headless Chromium through Playwright."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from qa_ui.background import Server
from tests.conftest import ROOT, SEEDS

pytestmark = [pytest.mark.browser, pytest.mark.model]

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARTIFACTS = ROOT / "test-artifacts"
HOSTILE = (
    "Bakery opens <img src=x onerror=\"window.__pwned=1\">\n\n"
    "The baker, Ada Quill, said the new oven bakes 400 loaves an hour <script>window.__pwned=1</script>. "
    "She added that the oven <img src=x onerror=\"window.__pwned=1\"> was built in Lyon.\n\n"
    "Customers can read the menu [here](javascript:window.__pwned=1) or ask the baker about the oven.\n"
)
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def ui_index(tmp_path_factory, real_embedder) -> Path:
    from qa.build import build_index
    from qa.seeds import read_seeds

    seeds = tmp_path_factory.mktemp("ui-seeds")
    shutil.copy(SEEDS / "000_340503b4c86ea83e.txt", seeds / "guardian.txt")
    (seeds / "bakery <img src=x onerror=window.__pwned=1>.txt").write_text(HOSTILE, encoding="utf-8")
    from tests.documents import write_pdf

    write_pdf(seeds / "harbour.pdf", [["Harbour report", "", "The harbour closed in March after the storm."],
                                      ["Repairs to the harbour cost 2 million euros. Boats returned in May."]], title="Harbour report 2025")
    (seeds / "report.txt").write_text(
        "The audit report is online at https://evil.example/phish?a=1 for everyone. The fee was $$5$$ per copy, the auditors said.\n",
        encoding="utf-8")
    index_dir = tmp_path_factory.mktemp("ui") / "index"
    build_index(read_seeds(seeds), index_dir, real_embedder)
    return index_dir


@pytest.fixture(scope="module")
def server(ui_index, real_embedder):
    from qa.service import Assistant
    from qa.settings import Settings
    from qa_ui.app import build_app

    with Server(build_app(Assistant(Settings(index_dir=ui_index), embedder=real_embedder))) as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required under CI=true (.ci/run installs Debian's chromium)")
        pytest.skip("Chromium not installed (apt-get install chromium); browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    pg = context.new_page()
    pg.goto(server.url + "/")
    pg.wait_for_selector("#question textarea", timeout=30_000)
    yield pg
    context.close()


def ask(page, question: str, n_bots: int) -> str:
    """Types a question, presses Enter, waits until the n-th reply is complete; returns its text.

    The reply is complete when the status line reports it ("answer N in X ms" or "not answered"):
    the app updates the status only with the last streamed chunk.
    """
    before = page.locator("#status").inner_text()
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('[data-testid=\"bot\"]').length >= {n_bots}", timeout=30_000)
    page.wait_for_function(
        "(before) => { const t = document.querySelector('#status').innerText; return t !== before && /answer|answered/.test(t); }",
        arg=before, timeout=30_000)
    return page.locator('[data-testid="bot"]').nth(n_bots - 1).inner_text()


def test_examples_and_status_on_an_empty_chat(page):
    status = page.locator("#status").inner_text()
    assert "4 articles" in status and "sentences" in status and "all-MiniLM-L6-v2" in status
    assert page.locator("h2").first.inner_text().startswith("qa")  # the page says what it is
    page.wait_for_selector("#examples button.qa-example", timeout=30_000)
    example = page.locator("#examples button.qa-example").first
    question = example.get_attribute("data-q")
    example.click()  # asks it; every example shown was checked to be answered
    page.wait_for_function("document.querySelectorAll('[data-testid=\"bot\"]').length >= 1", timeout=30_000)
    page.wait_for_function("/answer 1/.test(document.querySelector('#status').innerText)", timeout=30_000)
    assert question in page.locator('[data-testid="user"]').first.inner_text()
    assert "The articles don't say" not in page.locator('[data-testid="bot"]').first.inner_text()


def test_an_earlier_replys_marker_shows_that_replys_sources(page):
    ask(page, "How long did the talks last?", 1)
    ask(page, "Where can customers read the menu?", 2)
    assert page.locator("#sources section.qa-current").get_attribute("data-turn") == "2"
    page.locator('[data-testid="bot"]').nth(0).locator('a[href*="#src-1-"]').first.click()
    page.wait_for_function("document.querySelector('#sources section.qa-current').getAttribute('data-turn') === '1'", timeout=5_000)
    assert "five hours" in page.locator("#sources section.qa-current").inner_text()
    page.locator("#sources section.qa-current details.qa-full summary").first.click()  # the whole article, sentence marked
    assert page.locator("#sources section.qa-current details.qa-full[open] .qa-article mark").count() == 1


def test_the_conversation_exports_as_markdown_with_its_citations(page):
    assert page.locator("#export").is_disabled()  # nothing to export yet
    ask(page, "How long did the talks last?", 1)
    ask(page, "How much did the harbour repairs cost?", 2)
    with page.expect_download(timeout=30_000) as info:
        page.locator("#export").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert info.value.suggested_filename.endswith(".md")
    assert "## 1. How long did the talks last?" in text and "## 2. How much did the harbour repairs cost?" in text
    assert "almost five hours" in text and "The Guardian" in text and "`guardian.txt`, sentence" in text
    assert "2 million euros" in text and "*Harbour report 2025*" in text and "page 2" in text


def test_a_pdf_is_cited_with_its_page(page):
    reply = ask(page, "How much did the harbour repairs cost?", 1)
    assert "2 million euros" in reply
    sources = page.locator("#sources section.qa-current").inner_text()
    assert "page 2" in sources and "Harbour report 2025" in sources
    assert "2 million euros" in page.locator("#sources section.qa-current mark").first.inner_text()


def _choose(page, dropdown: str, option: str) -> None:
    page.locator(f"{dropdown} input").click()
    page.locator(f'{dropdown} [data-testid="dropdown-option"]', has_text=option).first.click()
    page.keyboard.press("Escape")


def test_filters_restrict_the_answer_to_the_chosen_source_and_articles(page):
    page.locator("#filters").get_by_text("Filter the articles").click()
    _choose(page, "#filter-sources", "The Guardian")
    reply = ask(page, "How much did the harbour repairs cost?", 1)
    assert "2 million euros" not in reply  # the harbour PDF is not from The Guardian
    cards = page.locator("#sources section.qa-current .qa-src .qa-meta")
    assert cards.count() >= 1 and all("The Guardian" in cards.nth(i).inner_text() for i in range(cards.count()))
    page.reload()
    page.wait_for_selector("#question textarea", timeout=30_000)
    page.locator("#filters").get_by_text("Filter the articles").click()
    _choose(page, "#filter-articles", "Harbour report")
    reply = ask(page, "Who attended the Riyadh talks?", 1)
    assert "Lavrov" not in reply
    titles = page.locator("#sources section.qa-current .qa-src h4")
    assert titles.count() >= 1 and all(titles.nth(i).inner_text() == "Harbour report 2025" for i in range(titles.count()))
    page.fill("#filter-since input", "yesterday")
    reply = ask(page, "How much did the harbour repairs cost?", 2)
    assert "'since' must be a date like 2025-02-18" in reply


def test_riyadh_answer_names_five_with_marker_and_highlighted_source(page):
    reply = ask(page, "Who attended the Riyadh talks?", 1)
    for name in ("Rubio", "Waltz", "Witkoff", "Lavrov", "Ushakov"):
        assert name in reply
    assert "[1]" in reply
    # the sentence naming them is highlighted in its paragraph; whether it is quoted first
    # or second is a ranking question, measured by `qa eval` (today the reranker puts it
    # second: docs/reranker.md)
    marks = page.locator("#sources mark")
    highlighted = [marks.nth(i).inner_text() for i in range(marks.count())]
    assert any("Lavrov" in h and "Witkoff" in h for h in highlighted), highlighted
    assert "The Guardian" in page.locator("#sources").inner_text()
    assert "articles" in page.locator("#status").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "answer.png"), full_page=True)
    # the marker in the reply is linked to its source: clicking it flashes the highlighted sentence
    page.locator('[data-testid="bot"] a[href*="#src-"]').first.click()
    page.wait_for_function("document.querySelector('#sources mark.flash') !== null", timeout=5_000)


def test_follow_up_answers_about_the_person(page):
    ask(page, "Who is Yuri Ushakov?", 1)
    reply = ask(page, "What did he say about the meeting?", 2)
    assert "Understood as: What did Yuri Ushakov say about the meeting?" in reply and "went well" in reply and "[1]" in reply


def test_a_three_turn_conversation_resolves_from_the_earlier_reply(page):
    ask(page, "Who attended the Riyadh talks?", 1)
    second = ask(page, "Who is Russia's foreign minister?", 2)
    assert "Sergei Lavrov" in second
    # "he" is named only in the second reply
    third = ask(page, "What did he call unacceptable?", 3)
    assert "Understood as: What did Sergei Lavrov call unacceptable?" in third
    assert "deployment of Nato member troops" in third
    marks = page.locator("#sources mark")
    assert any("unacceptable" in marks.nth(i).inner_text() for i in range(marks.count()))


def test_abstention_looks_different(page):
    reply = ask(page, "What is the capital of Peru?", 1)
    assert "The articles don't say" in reply
    assert "not an answer" in page.locator("#sources").inner_text()
    assert page.locator("#sources .qa-closest").count() >= 1


def test_script_injection_stays_inert(page):
    reply = ask(page, "How many loaves does the baker's new oven bake?", 1)
    assert "400 loaves" in reply
    ask(page, "Where can customers read the menu?", 2)
    ask(page, 'Who <img src=x onerror="window.__pwned=1"> [x](javascript:window.__pwned=1) <script>window.__pwned=1</script>?', 3)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    sources = page.locator("#sources").inner_text()
    assert "<script>" in reply + sources or "<img" in reply + sources  # shown as text
    assert page.locator("#sources img, #sources script, [data-testid='bot'] img").count() == 0
    assert page.locator("a[href^='javascript:']").count() == 0


def test_quotes_show_urls_and_dollars_as_text(page):
    reply = ask(page, "Where is the audit report online?", 1)
    assert "https://evil.example/phish?a=1" in reply
    bot = page.locator('[data-testid="bot"]')
    assert bot.locator("a[href*='evil.example']").count() == 0  # no link made from article text
    reply = ask(page, "What was the fee per copy of the audit report?", 2)
    assert "$$5$$" in reply and page.locator("[data-testid='bot'] .katex").count() == 0


def test_empty_message_does_nothing_and_long_one_is_refused(page):
    page.fill("#question textarea", "   ")
    page.keyboard.press("Enter")
    time.sleep(1.0)
    assert page.locator('[data-testid="bot"]').count() == 0 or "Type a question" in page.locator('[data-testid="bot"]').first.inner_text()
    reply = ask(page, "why " * 2500, page.locator('[data-testid="bot"]').count() + 1)
    assert "limit is 2,000" in reply


def _post(url: str, body: object) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_http_api_returns_the_cli_json(server):
    code, body = _post(server.url + "/api/ask", {"question": "What did he say about the meeting?", "history": ["Who is Yuri Ushakov?"]})
    assert code == 200
    assert set(body) >= {"question", "answer", "abstained", "citations", "timings_ms"}
    assert "Ushakov" in body["query"] and body["citations"][0]["article_id"] == "guardian.txt"
    code, body = _post(server.url + "/api/ask", {"question": ""})
    assert code == 400 and "empty" in body["error"]
    code, body = _post(server.url + "/api/ask", {"question": "Who?", "history": "not a list"})
    assert code == 400 and "history" in body["error"]
    with urllib.request.urlopen(server.url + "/api/status") as r:
        status = json.loads(r.read())
    from qa.embed import TUNED_NAME

    assert status["articles"] == 4 and status["model"] == TUNED_NAME  # the index was built with the tuned encoder


def test_gradio_client_chat_endpoint(server):
    from gradio_client import Client

    client = Client(server.url + "/", verbose=False)
    result = client.predict(message="Who attended the Riyadh talks?", api_name="/chat")
    text = result[0] if isinstance(result, (list, tuple)) else result
    assert "Lavrov" in str(text)


def test_no_files_outside_the_app(server):
    for path in ("/file=/etc/passwd", "/gradio_api/file=/etc/passwd", "/file=../../../../etc/passwd", "/../../etc/passwd", "/static/../../../../etc/passwd"):
        try:
            with urllib.request.urlopen(server.url + path, timeout=10) as r:
                body = r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError:
            continue
        assert "root:x:0:0" not in body, path


def test_missing_index_page_says_run_build(browser, tmp_path, real_embedder):
    from qa.service import Assistant
    from qa.settings import Settings
    from qa_ui.app import build_app

    with Server(build_app(Assistant(Settings(index_dir=tmp_path / "none"), embedder=real_embedder))) as s:
        pg = browser.new_page()
        pg.goto(s.url + "/")
        pg.wait_for_selector("#status", timeout=30_000)
        assert "run `qa build`" in pg.locator("#status").inner_text() or "run qa build" in pg.locator("#status").inner_text()
        reply = ask(pg, "Who attended?", 1)
        assert "qa build" in reply
        code, body = _post(s.url + "/api/ask", {"question": "Who attended?"})
        assert code == 503 and "qa build" in body["error"]
        pg.close()


def test_auth_protects_page_and_api(ui_index, real_embedder):
    import base64

    from qa.service import Assistant
    from qa.settings import Settings
    from qa_ui.app import build_app

    with Server(build_app(Assistant(Settings(index_dir=ui_index), embedder=real_embedder), auth=("ann", "s3cret"))) as s:
        code, _ = _post(s.url + "/api/ask", {"question": "Who attended?"})
        assert code == 401
        token = base64.b64encode(b"ann:s3cret").decode()
        req = urllib.request.Request(s.url + "/api/ask", data=json.dumps({"question": "Who attended the Riyadh talks?"}).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 200
        with urllib.request.urlopen(s.url + "/", timeout=30) as r:
            page = r.read().decode("utf-8", "replace")
        assert "ann" not in page and ("login" in page.lower() or "auth_required" in page or '"auth_required":true' in page.replace(" ", ""))


@pytest.fixture(scope="module")
def managed(tmp_path_factory, real_embedder):
    """A server with the Articles tab, over its own seeds folder (one article to start)."""
    from qa.build import build_index
    from qa.seeds import read_folders
    from qa.service import Assistant
    from qa.settings import Settings
    from qa_ui.app import build_app

    seeds = tmp_path_factory.mktemp("managed-seeds")
    shutil.copy(SEEDS / "000_340503b4c86ea83e.txt", seeds / "guardian.txt")
    index_dir = tmp_path_factory.mktemp("managed") / "index"
    build_index(read_folders([seeds]), index_dir, real_embedder)
    assistant = Assistant(Settings(seeds_dir=seeds, index_dir=index_dir), embedder=real_embedder)
    with Server(build_app(assistant, manage=True)) as s:
        yield s, seeds


def test_articles_are_uploaded_listed_asked_about_and_removed_in_the_browser(browser, managed, tmp_path):
    from tests.documents import write_pdf

    server, seeds = managed
    pdf = write_pdf(tmp_path / "harbour.pdf", [["Harbour report", "", "The harbour closed in March after the storm."],
                                               ["Repairs to the harbour cost 2 million euros. Boats returned in May."]], title="Harbour report 2025")
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    page = context.new_page()
    page.goto(server.url + "/")
    page.wait_for_selector("#question textarea", timeout=30_000)
    page.get_by_role("tab", name="Articles").click()
    table = page.locator("#article-list")
    page.wait_for_function("document.querySelector('#article-list').innerText.includes('Top US and Russian officials')", timeout=30_000)
    page.set_input_files("#upload input[type=file]", str(pdf))
    page.wait_for_function("/added harbour.pdf/.test(document.querySelector('#articles-status').innerText)", timeout=60_000)
    assert "the index holds 2 articles" in page.locator("#articles-status").inner_text()
    assert "Harbour report 2025" in table.inner_text() and (seeds / "harbour.pdf").is_file()

    page.get_by_role("tab", name="Chat").click()
    reply = ask(page, "How much did the harbour repairs cost?", 1)
    assert "2 million euros" in reply
    assert "page 2" in page.locator("#sources section.qa-current .qa-meta").first.inner_text()

    page.get_by_role("tab", name="Articles").click()
    page.locator("#remove-choice input").click()
    page.locator('#remove-choice [data-testid="dropdown-option"]', has_text="Harbour report 2025").first.click()
    page.locator("#remove").click()
    page.wait_for_function("/removed harbour.pdf/.test(document.querySelector('#articles-status').innerText)", timeout=60_000)
    assert "Harbour report 2025" not in table.inner_text()
    assert not (seeds / "harbour.pdf").exists() and len(list((seeds / ".removed").glob("*-harbour.pdf"))) == 1
    context.close()


def test_a_read_only_page_has_no_articles_tab_and_takes_no_uploads(page, server):
    assert page.get_by_role("tab", name="Chat").count() == 1 and page.get_by_role("tab", name="Articles").count() == 0
    req = urllib.request.Request(server.url + "/gradio_api/upload", data=b"x" * 100, headers={"Content-Type": "application/octet-stream"})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=10)
    assert exc.value.code == 403


def test_an_upload_over_the_file_limit_is_refused(managed):
    import httpx

    server, seeds = managed
    big = b"x" * (21 * 1024 * 1024)
    r = httpx.post(server.url + "/gradio_api/upload", files={"files": ("big.txt", big, "text/plain")}, timeout=60)
    assert r.status_code in (400, 413) and "big.txt" not in {p.name for p in seeds.iterdir()}
    small = httpx.post(server.url + "/gradio_api/upload", files={"files": ("ok.txt", b"Ferries resumed.", "text/plain")}, timeout=60)
    assert small.status_code == 200  # the page's own uploads work
