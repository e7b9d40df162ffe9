from __future__ import annotations

from pathlib import Path

from qa.articles import parse_article, read_seeds
from tests.conftest import SEEDS


def test_seed_article_source_from_byline_and_no_title():
    report = read_seeds(SEEDS)
    assert len(report.articles) == 1
    a = report.articles[0]
    assert a.id == "000_340503b4c86ea83e"
    assert a.source == "The Guardian"
    assert a.title == ""  # the first paragraph is prose, not a headline
    start, end = a.body_span()
    assert "- The Guardian" not in a.text[start:end]
    assert a.text[start:].startswith("Top US and Russian officials")


def test_headline_line_and_markdown_heading_become_titles(tiny_seeds: Path):
    arts = {a.id: a for a in read_seeds(tiny_seeds).articles}
    assert arts["harbour"].title == "Harbour reopens after storm"
    assert arts["harbour"].source == "The Example Times"
    assert arts["orchard"].title == "Apple harvest breaks record"
    assert arts["comet"].title == ""
    # the title is metadata: the body starts after it
    h = arts["harbour"]
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
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "copy.txt").write_text("A bridge opened in Cork. Traffic moved at once.\n", encoding="utf-8")
    sub = tmp_path / "more"
    sub.mkdir()
    (sub / "deep.md").write_text("Snow closed the pass. Drivers waited.\n", encoding="utf-8")
    big = tmp_path / "big.txt"
    big.write_text("x" * 200, encoding="utf-8")

    report = read_seeds(tmp_path, max_bytes=100)
    ids = sorted(a.id for a in report.articles)
    assert ids == ["copy", "latin", "more/deep"] or ids == ["good", "latin", "more/deep"]
    skipped = dict(report.skipped)
    assert "empty.txt" in skipped and "empty" in skipped["empty.txt"]
    assert "blob.txt" in skipped and "binary" in skipped["blob.txt"]
    assert "notes.pdf" in skipped and "unsupported" in skipped["notes.pdf"]
    assert "big.txt" in skipped
    assert dict(report.warnings)["latin.txt"].startswith("not UTF-8")
    latin = next(a for a in report.articles if a.id == "latin")
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
    assert (a.id, a.title, a.source, a.date) == ("storm", "Storm closes harbour", "The Example Times", "2025-02-18")
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
    assert set(arts) == {"feed#1", "custom-id", "many#1", "many#2"}
    assert (arts["feed#1"].title, arts["feed#1"].source, arts["feed#1"].date) == ("Snow delays", "news.example.org", "2025-01-02")
    assert arts["custom-id"].source == "Cork Post" and arts["custom-id"].path == "feed.jsonl:4"
    skipped = dict(report.skipped)
    assert "not valid JSON" in skipped["feed.jsonl:2"]
    assert "non-empty \"text\"" in skipped["feed.jsonl:3"]
    assert "fields must be strings: date" in skipped["one.json#1"]


def test_json_that_is_not_json(tmp_path: Path):
    (tmp_path / "bad.json").write_text('{"text": "x",\n  oops}', encoding="utf-8")
    report = read_seeds(tmp_path)
    assert report.articles == [] and report.skipped[0][0] == "bad.json:2"
