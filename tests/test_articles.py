from __future__ import annotations

from pathlib import Path

from qa.articles import parse_article
from qa.seeds import read_seeds
from tests.conftest import SEEDS


def test_seed_article_source_from_byline_and_no_title():
    report = read_seeds(SEEDS)
    assert len(report.articles) == 1
    a = report.articles[0]
    assert a.id == "000_340503b4c86ea83e.txt"
    assert a.source == "The Guardian"
    assert a.title == ""  # the first paragraph is prose, not a headline
    start, end = a.body_span()
    assert "- The Guardian" not in a.text[start:end]
    assert a.text[start:].startswith("Top US and Russian officials")


def test_headline_line_and_markdown_heading_become_titles(tiny_seeds: Path):
    arts = {a.id: a for a in read_seeds(tiny_seeds).articles}
    assert arts["harbour.txt"].title == "Harbour reopens after storm"
    assert arts["harbour.txt"].source == "The Example Times"
    assert arts["orchard.md"].title == "Apple harvest breaks record"
    assert arts["comet.txt"].title == ""
    # the title is metadata: the body starts after it
    h = arts["harbour.txt"]
    assert h.text[h.body_span()[0]:].startswith("The old harbour")


def test_header_lines_give_title_source_date():
    text = "Title: Port strike ends\nSource: Daily Post\nDate: 2025-02-18\n\nDock workers went back to work on Tuesday.\n"
    a = parse_article("x", text)
    assert (a.title, a.source, a.date) == ("Port strike ends", "Daily Post", "2025-02-18")
    assert a.text[a.body_span()[0]:].startswith("Dock workers")


def test_front_matter():
    text = "---\ntitle: \"Floods in Valencia\"\ndate: 2024-10-30\nsource: El Diario\n---\n\nRain fell for eight hours.\n"
    a = parse_article("x", text)
    assert (a.title, a.source, a.date) == ("Floods in Valencia", "El Diario", "2024-10-30")


def test_bad_files_are_reported_and_the_rest_indexed(tmp_path: Path):
    (tmp_path / "good.txt").write_text("A bridge opened in Cork. Traffic moved at once.\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("   \n", encoding="utf-8")
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01\x02binary\x00")
    (tmp_path / "latin.txt").write_bytes("Caf\xe9 owners in M\xe1laga protested. They closed for a day.\n".encode("latin-1"))
    (tmp_path / "notes.odt").write_bytes(b"PK\x03\x04 an OpenDocument file")
    (tmp_path / "copy.txt").write_text("A bridge opened in Cork. Traffic moved at once.\n", encoding="utf-8")
    sub = tmp_path / "more"
    sub.mkdir()
    (sub / "deep.md").write_text("Snow closed the pass. Drivers waited.\n", encoding="utf-8")
    big = tmp_path / "big.txt"
    big.write_text("x" * 200, encoding="utf-8")

    report = read_seeds(tmp_path, max_bytes=100)
    ids = sorted(a.id for a in report.articles)
    assert ids == ["copy.txt", "latin.txt", "more/deep.md"] or ids == ["good.txt", "latin.txt", "more/deep.md"]
    skipped = dict(report.skipped)
    assert "empty.txt" in skipped and "empty" in skipped["empty.txt"]
    assert "blob.txt" in skipped and "binary" in skipped["blob.txt"]
    assert "notes.odt" in skipped and "unsupported" in skipped["notes.odt"]
    assert "big.txt" in skipped
    assert dict(report.warnings)["latin.txt"].startswith("not UTF-8")
    latin = next(a for a in report.articles if a.id == "latin.txt")
    assert "Café" in latin.text and "Málaga" in latin.text
    assert len(report.duplicates) == 1


def test_hash_is_stable_and_content_based():
    assert parse_article("a", "Same text.").hash == parse_article("b", "Same text.").hash
    assert parse_article("a", "Same text.").hash != parse_article("a", "Other text.").hash


PAGE = """<!DOCTYPE html><html><head><title>Storm closes harbour | The Example Times</title>
<meta property="og:title" content="Storm closes harbour"><meta property="og:site_name" content="The Example Times">
<meta name="date" content="2025-02-18"></head><body><nav>Home | World | Sport | Subscribe now</nav>
<article><h1>Storm closes harbour</h1><p>The old harbour in Dunmore closed on Monday after a storm damaged the quay.
Fishermen moved their boats to Waterford.</p><p>The mayor, Ann Keane, said repairs would cost 2 million euros.</p></article>
<footer>Cookie policy. Copyright 2025 The Example Times. All rights reserved.</footer></body></html>"""


def test_saved_web_page_gives_main_text_and_metadata(tmp_path: Path):
    (tmp_path / "storm.html").write_text(PAGE, encoding="utf-8")
    (a,) = read_seeds(tmp_path).articles
    assert (a.id, a.title, a.source, a.date) == ("storm.html", "Storm closes harbour", "The Example Times", "2025-02-18")
    body = a.text[a.body_span()[0]:]
    assert body.startswith("The old harbour in Dunmore") and "Ann Keane" in body
    assert "Cookie" not in a.text and "Subscribe" not in a.text  # boilerplate dropped
    from qa.sentences import split_article

    sents = split_article(a)
    assert sents[0].text.startswith("The old harbour") and all(a.text[s.start:s.end] == s.text for s in sents)
    assert len({s.paragraph for s in sents}) == 2


def test_json_and_jsonl_records(tmp_path: Path):
    import json

    (tmp_path / "feed.jsonl").write_text(
        json.dumps({"text": "Trains ran late in Leeds. Snow was blamed.", "title": "Snow delays", "url": "https://news.example.org/a", "date": "2025-01-02"}) + "\n"
        + "{broken\n"
        + json.dumps({"title": "no text"}) + "\n"
        + json.dumps({"id": "custom-id", "text": "A bridge opened in Cork.", "source": "Cork Post"}) + "\n",
        encoding="utf-8",
    )
    (tmp_path / "one.json").write_text(json.dumps({"text": "Floods hit Valencia after eight hours of rain.", "date": 2024}), encoding="utf-8")
    (tmp_path / "many.json").write_text(json.dumps([{"text": "Snow closed the pass."}, {"text": "Drivers waited overnight."}]), encoding="utf-8")
    report = read_seeds(tmp_path)
    arts = {a.id: a for a in report.articles}
    assert set(arts) == {"feed.jsonl#1", "feed.jsonl#custom-id", "many.json#1", "many.json#2"}
    assert (arts["feed.jsonl#1"].title, arts["feed.jsonl#1"].source, arts["feed.jsonl#1"].date) == ("Snow delays", "news.example.org", "2025-01-02")
    assert arts["feed.jsonl#custom-id"].source == "Cork Post" and arts["feed.jsonl#custom-id"].path == "feed.jsonl:4"
    skipped = dict(report.skipped)
    assert "not valid JSON" in skipped["feed.jsonl:2"]
    assert "non-empty \"text\"" in skipped["feed.jsonl:3"]
    assert "fields must be strings: date" in skipped["one.json#1"]


def test_json_that_is_not_json(tmp_path: Path):
    (tmp_path / "bad.json").write_text('{"text": "x",\n  oops}', encoding="utf-8")
    report = read_seeds(tmp_path)
    assert report.articles == [] and report.skipped[0][0] == "bad.json:2"


def test_ids_are_unique_and_stable_whatever_else_is_added(tmp_path: Path):
    import json

    (tmp_path / "b.txt").write_text("Cherry festival opens in Kent. Crowds came early.\n", encoding="utf-8")
    first = {a.id: a.text for a in read_seeds(tmp_path).articles}
    (tmp_path / "a.json").write_text(json.dumps([{"id": "b", "text": "Banana prices rose in May."}, {"id": "b.txt", "text": "Bananas were scarce."},
                                                 {"id": "b", "text": "A second record with the same id."}]), encoding="utf-8")
    (tmp_path / "bad.json").write_text(json.dumps({"text": "One record in bad.json."}), encoding="utf-8")
    (tmp_path / "bad.jsonl").write_text(json.dumps({"text": "One record in bad.jsonl."}) + "\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("Blueberry farms expand. Pickers are needed.\n", encoding="utf-8")
    (tmp_path / "c#1.txt").write_text("A file whose name holds a hash sign. It is read.\n", encoding="utf-8")
    arts = {a.id: a for a in read_seeds(tmp_path).articles}
    assert len(arts) == 8  # every article kept, every id different
    assert arts["b.txt"].text == first["b.txt"]  # unchanged by the files added beside it
    assert "Banana" in arts["a.json#b"].text and "scarce" in arts["a.json#b.txt"].text and "second record" in arts["a.json#b~2"].text
    assert {"bad.json#1", "bad.jsonl#1", "b.md", "c%231.txt"} <= set(arts)


def test_deep_nesting_and_huge_numbers_skip_one_record_not_the_build(tmp_path: Path):
    (tmp_path / "deep.jsonl").write_text("[" * 1200 + "]" * 1200 + "\n" + '{"text": "The good record is read."}\n', encoding="utf-8")
    (tmp_path / "deep.json").write_text("[" * 1200 + "]" * 1200, encoding="utf-8")
    (tmp_path / "big.jsonl").write_text('{"text": "x", "n": ' + "9" * 5000 + "}\n", encoding="utf-8")
    (tmp_path / "fine.txt").write_text("A fine article. It is read too.\n", encoding="utf-8")
    report = read_seeds(tmp_path)
    assert {a.id for a in report.articles} == {"deep.jsonl#2", "fine.txt"}
    skipped = dict(report.skipped)
    assert "nested too deeply" in skipped["deep.jsonl:1"] and "nested too deeply" in skipped["deep.json:1"]
    assert "not valid JSON" in skipped["big.jsonl:1"]


def test_links_special_files_hidden_files_and_utf16(tmp_path: Path):
    import os

    seeds = tmp_path / "seeds"
    (seeds / "sub").mkdir(parents=True)
    (seeds / "inside.txt").write_text("Inside the folder. It is read.\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("root:x:0:0 should never be indexed.\n", encoding="utf-8")
    (seeds / "passwd.txt").symlink_to(tmp_path / "secret.txt")
    (seeds / "alias.txt").symlink_to(seeds / "inside.txt")  # inside: followed (then a duplicate)
    (seeds / "broken.txt").symlink_to(seeds / "missing.txt")
    (seeds / "sub" / "loop").symlink_to(seeds / "sub")
    (seeds / "outdir").symlink_to(tmp_path)
    os.mkfifo(seeds / "pipe.txt")
    (seeds / ".DS_Store").write_bytes(b"\x00\x01")
    (seeds / "utf16.txt").write_bytes("Caf\u00e9 talks resumed in Gen\u00e8ve. Both sides came.\n".encode("utf-16"))
    (seeds / "utf32.txt").write_bytes("Ships sailed from \u00c5rhus. They were late.\n".encode("utf-32"))
    report = read_seeds(seeds)
    texts = " ".join(a.text for a in report.articles)
    assert "root:x" not in texts and "Genève" in texts and "Århus" in texts
    skipped = dict(report.skipped)
    assert "outside the seeds folder" in skipped["passwd.txt"] and "outside the seeds folder" in skipped["outdir"]
    assert "broken link" in skipped["broken.txt"] and "loop" in skipped["sub/loop"]
    assert "not a regular file" in skipped["pipe.txt"] and "hidden" in skipped[".DS_Store"]
    assert report.duplicates == [("inside.txt", "alias.txt")] or report.duplicates == [("alias.txt", "inside.txt")]


def test_a_file_deleted_while_the_folder_is_read_is_skipped(tmp_path: Path, monkeypatch):
    import qa.seeds as articles_module

    (tmp_path / "keep.txt").write_text("This one stays. It is read.\n", encoding="utf-8")
    (tmp_path / "temp.txt").write_text("A sync tool's temporary file.\n", encoding="utf-8")
    real_scan = articles_module.scan_seeds

    def scan_then_delete(folder):
        found = real_scan(folder)
        (tmp_path / "temp.txt").unlink()  # gone between listing and reading
        return found

    monkeypatch.setattr(articles_module, "scan_seeds", scan_then_delete)
    report = read_seeds(tmp_path)
    assert [a.id for a in report.articles] == ["keep.txt"]
    assert "may have been moved or deleted" in dict(report.skipped)["temp.txt"]


def test_several_folders_read_as_one_collection(tmp_path: Path):
    from qa.seeds import read_folders

    a, b = tmp_path / "seeds", tmp_path / "archive"
    a.mkdir()
    b.mkdir()
    (a / "story.txt").write_text("The seed story. It is here.\n", encoding="utf-8")
    (b / "story.txt").write_text("Another story with the same file name. It differs.\n", encoding="utf-8")
    (b / "copy.txt").write_text("The seed story. It is here.\n", encoding="utf-8")
    report = read_folders([a, b])
    assert [x.id for x in report.articles] == ["story.txt", "archive/story.txt"]
    assert report.duplicates == [("archive/copy.txt", "story.txt")]


def test_pdf_pages_and_word_documents_are_read(tmp_path: Path):
    from qa.documents import page_of, page_span
    from tests.documents import write_docx, write_pdf

    write_pdf(tmp_path / "report.pdf", [["Harbour report", "", "The harbour closed in March."], ["Repairs cost 2 million euros. Boats returned in May."]],
              title="Harbour report 2025")
    write_pdf(tmp_path / "scan.pdf", [[]])
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    write_docx(tmp_path / "memo.docx", ["Council memo", "The council met on Monday. It approved the budget."])
    report = read_seeds(tmp_path)
    arts = {a.id: a for a in report.articles}
    pdf = arts["report.pdf"]
    assert pdf.title == "Harbour report 2025" and len(pdf.pages) == 2
    at = pdf.text.index("Repairs cost")
    assert page_of(pdf.pages, at) == 2 and page_of(pdf.pages, pdf.text.index("closed")) == 1
    s, e = page_span(pdf.text, pdf.pages, at)
    assert pdf.text[s:e].startswith("Repairs cost") and "March" not in pdf.text[s:e]
    assert "approved the budget" in arts["memo.docx"].text
    skipped = dict(report.skipped)
    assert "no text layer" in skipped["scan.pdf"] and "not a readable PDF" in skipped["broken.pdf"]
