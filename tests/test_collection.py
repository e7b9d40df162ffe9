"""Managing the articles from the page (qa/collection.py): list, add, remove, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa import collection
from qa.build import build_index
from qa.errors import QAError
from qa.seeds import read_folders
from qa.service import Assistant
from qa.settings import Settings
from tests.conftest import FakeEmbedder


@pytest.fixture
def assistant(tmp_path: Path, tiny_seeds: Path) -> Assistant:
    settings = Settings(seeds_dir=tiny_seeds, index_dir=tmp_path / "index", rerank_depth=0, abstain_below=0.0)
    embedder = FakeEmbedder()
    build_index(read_folders([tiny_seeds]), settings.index_dir, embedder)
    return Assistant(settings, embedder=embedder)


def _upload(tmp_path: Path, name: str, text: str | bytes) -> tuple[Path, str]:
    """A file as Gradio hands it over: somewhere in a temp folder, with its original name."""
    where = tmp_path / "upload" / str(len(list((tmp_path / "upload").glob("*"))) if (tmp_path / "upload").exists() else 0)
    where.mkdir(parents=True)
    path = where / "blob"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path, name


def test_the_list_shows_every_article_with_its_title_source_date_and_sentences(assistant: Assistant):
    rows = {r.id: r for r in collection.articles(assistant)}
    assert set(rows) == {"harbour.txt", "orchard.md", "comet.txt"}
    assert rows["harbour.txt"].title == "Harbour reopens after storm" and rows["harbour.txt"].source == "The Example Times"
    assert rows["comet.txt"].title.startswith("Astronomers spotted a new comet") and rows["comet.txt"].sentences == 3
    assert all(len(r.date) == 10 for r in rows.values())


def test_added_files_are_indexed_and_answer_at_once(tmp_path: Path, assistant: Assistant, tiny_seeds: Path):
    before = assistant.index.version
    message = collection.add_files(assistant, [_upload(tmp_path, "tram.txt", "The new tram line in Leeds cost 2.1 billion pounds.\n")])
    assert message.startswith("added tram.txt; the index holds 4 articles")
    assert (tiny_seeds / "tram.txt").is_file() and assistant.index.version != before
    assert assistant.ask("How much did the tram line cost?").citations[0].article_id == "tram.txt"


def test_a_different_file_of_the_same_name_is_kept_beside_it_and_the_same_file_is_not_added_twice(tmp_path: Path, assistant: Assistant, tiny_seeds: Path):
    message = collection.add_files(assistant, [_upload(tmp_path, "comet.txt", "A second comet passed Saturn in June.\n")])
    assert "added comet (2).txt" in message and (tiny_seeds / "comet.txt").read_text().startswith("Astronomers")
    with pytest.raises(QAError, match="nothing added: comet.txt: already there"):
        collection.add_files(assistant, [_upload(tmp_path, "comet.txt", (tiny_seeds / "comet.txt").read_bytes())])


def test_files_that_are_not_articles_are_refused_or_taken_out_again_with_the_reason(tmp_path: Path, assistant: Assistant, tiny_seeds: Path):
    with pytest.raises(QAError, match=r"nothing added: photo.jpg: not an article file \(.txt .md"):
        collection.add_files(assistant, [_upload(tmp_path, "photo.jpg", b"\xff\xd8\xff")])
    message = collection.add_files(assistant, [_upload(tmp_path, "empty.txt", ""), _upload(tmp_path, "ok.md", "Ferries resumed on Friday.\n"),
                                               _upload(tmp_path, "copy.txt", (tiny_seeds / "comet.txt").read_text())])
    assert message.startswith("added ok.md;") and "empty.txt: " in message and "copy.txt: same text as comet.txt" in message
    assert not (tiny_seeds / "empty.txt").exists() and not (tiny_seeds / "copy.txt").exists()


def test_a_removed_article_is_kept_aside_not_deleted_and_leaves_the_index(assistant: Assistant, tiny_seeds: Path):
    message = collection.remove_article(assistant, "comet.txt")
    assert message.startswith("removed comet.txt, kept in") and "2 articles" in message
    assert not (tiny_seeds / "comet.txt").exists()
    kept = list((tiny_seeds / ".removed").glob("*-comet.txt"))
    assert len(kept) == 1 and kept[0].read_text().startswith("Astronomers")
    assert "comet.txt" not in assistant.index.articles
    with pytest.raises(QAError, match="no article 'comet.txt' in the index"):
        collection.remove_article(assistant, "comet.txt")


def test_removing_a_record_removes_its_file_and_the_last_article_cannot_go(tmp_path: Path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "feed.jsonl").write_text("\n".join(json.dumps({"text": t}) for t in ("Rain fell in Oslo.", "Snow fell in Bergen.")) + "\n")
    (seeds / "one.txt").write_text("The bridge opened in May.\n")
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "index", rerank_depth=0)
    a = Assistant(settings, embedder=FakeEmbedder())
    build_index(read_folders([seeds]), settings.index_dir, a.embedder)
    record = next(aid for aid in a.index.articles if aid.startswith("feed.jsonl#"))
    assert "(2 articles)" in collection.remove_article(a, record)
    assert list(a.index.articles) == ["one.txt"]
    with pytest.raises(QAError, match="would leave no articles"):
        collection.remove_article(a, "one.txt")
    assert (seeds / "one.txt").exists()


def test_an_index_of_several_folders_is_rebuilt_from_all_of_them(tmp_path: Path, tiny_seeds: Path):
    more = tmp_path / "more"
    more.mkdir()
    (more / "ferry.txt").write_text("The ferry to Arran sails at noon.\n")
    settings = Settings(seeds_dir=tiny_seeds, index_dir=tmp_path / "index", rerank_depth=0)
    a = Assistant(settings, embedder=FakeEmbedder())
    build_index(read_folders([tiny_seeds, more]), settings.index_dir, a.embedder)
    collection.add_files(a, [_upload(tmp_path, "bus.txt", "The night bus runs on Fridays.\n")])
    assert set(a.index.articles) == {"harbour.txt", "orchard.md", "comet.txt", "more/ferry.txt", "bus.txt"}
    collection.remove_article(a, "more/ferry.txt")
    assert (more / ".removed").is_dir() and not (more / "ferry.txt").exists() and "more/ferry.txt" not in a.index.articles


def test_a_failed_rebuild_puts_the_files_back(tmp_path: Path, assistant: Assistant, tiny_seeds: Path, monkeypatch):
    def broken(*args, **kwargs):
        raise QAError("disk full")

    monkeypatch.setattr(collection, "build_index", broken)
    with pytest.raises(QAError, match="disk full"):
        collection.remove_article(assistant, "comet.txt")
    assert (tiny_seeds / "comet.txt").is_file()
    with pytest.raises(QAError, match="disk full"):
        collection.add_files(assistant, [_upload(tmp_path, "new.txt", "Fresh text.\n")])
    assert not (tiny_seeds / "new.txt").exists()
