"""The README's screenshot and one of each view, taken from the real page in headless Chromium.

    .venv/bin/python eval/screenshots.py [--out docs]        (make screenshots)

Serves the app over a temporary copy of seeds/ plus a two-page PDF (so the Articles tab and a
page citation have something to show), asks real questions with the real models, and writes:

- screenshot.png: a reply with its markers and the highlighted source (the README's);
- screenshot-earlier-sources.png: marker [1] of an earlier reply clicked: its own sources;
- screenshot-whole-article.png: "Open the whole article", the cited sentence marked;
- screenshot-filters.png: the filter panel, a source chosen;
- screenshot-pdf.png: a citation into a PDF, with its page;
- screenshot-articles.png: the Articles tab (upload, list, remove).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.build import build_index  # noqa: E402
from qa.embed import MiniLMEmbedder  # noqa: E402
from qa.seeds import read_folders  # noqa: E402
from qa.service import Assistant  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa_ui.app import build_app  # noqa: E402
from qa_ui.background import Server  # noqa: E402
from tests.documents import write_pdf  # noqa: E402


def ask(page, question: str, n: int) -> None:
    before = page.locator("#status").inner_text()
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('[data-testid=\"bot\"]').length >= {n}", timeout=60_000)
    page.wait_for_function("(b) => { const t = document.querySelector('#status').innerText; return t !== b && /answer/.test(t); }",
                           arg=before, timeout=60_000)
    time.sleep(0.5)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="qa-shots-"))
    seeds = work / "seeds"
    shutil.copytree(ROOT / "seeds", seeds)
    write_pdf(seeds / "harbour-report.pdf", [["Harbour report", "", "The harbour in Dunmore closed in March after the storm."],
                                             ["Repairs to the harbour cost 2 million euros, the council said. Boats returned in May."]],
              title="Harbour report 2025")
    embedder = MiniLMEmbedder()
    build_index(read_folders([seeds]), work / "index", embedder)
    assistant = Assistant(Settings(seeds_dir=seeds, index_dir=work / "index"), embedder=embedder)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with Server(build_app(assistant, manage=True)) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(server.url + "/")
            page.wait_for_selector("#examples button.qa-example", timeout=60_000)

            ask(page, "Who attended the Riyadh talks?", 1)
            page.screenshot(path=str(args.out / "screenshot.png"))
            ask(page, "How much did the harbour repairs cost?", 2)
            page.screenshot(path=str(args.out / "screenshot-pdf.png"))
            page.locator('[data-testid="bot"]').nth(0).locator('a[href*="#src-1-"]').first.click()
            time.sleep(1.0)
            page.screenshot(path=str(args.out / "screenshot-earlier-sources.png"))
            page.locator("#sources section.qa-current details.qa-full summary").first.click()
            time.sleep(1.0)
            page.screenshot(path=str(args.out / "screenshot-whole-article.png"))

            page.locator("#filters").get_by_text("Filter the articles").click()
            page.locator("#filter-sources input").click()
            page.locator('#filter-sources [data-testid="dropdown-option"]').first.click()
            page.keyboard.press("Escape")
            page.locator("#filters").scroll_into_view_if_needed()
            time.sleep(0.5)
            page.screenshot(path=str(args.out / "screenshot-filters.png"))

            page.get_by_role("tab", name="Articles").click()
            page.wait_for_function("document.querySelector('#article-list').innerText.includes('Harbour report')", timeout=30_000)
            time.sleep(0.5)
            page.screenshot(path=str(args.out / "screenshot-articles.png"))
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name in sorted(args.out.glob("screenshot*.png")):
        print(name.relative_to(ROOT) if name.is_relative_to(ROOT) else name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
