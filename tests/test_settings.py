"""Settings: one source of defaults, environment overrides parsed by type, ranges checked,
and a data home that does not depend on the current folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from qa.errors import QAError
from qa.settings import Mode, Settings, default_home

ROOT = Path(__file__).resolve().parent.parent


def test_environment_overrides_by_type(monkeypatch):
    monkeypatch.setenv("QA_ABSTAIN_BELOW", "0.42")
    monkeypatch.setenv("QA_RERANK_DEPTH", "0")
    monkeypatch.setenv("QA_INDEX_DIR", "/tmp/some-index")
    s = Settings.from_env()
    assert s.abstain_below == 0.42 and s.rerank_depth == 0 and s.index_dir == Path("/tmp/some-index")
    assert Settings.from_env(rerank_depth=3).rerank_depth == 3  # a flag beats the environment


@pytest.mark.parametrize("raw, expected", [("1", True), ("true", True), ("yes", True), ("0", False), ("false", False), ("", False)])
def test_booleans_read_0_as_false(monkeypatch, raw: str, expected: bool):
    monkeypatch.setenv("QA_DEBUG", raw)
    assert Settings.from_env().debug is expected


@pytest.mark.parametrize(
    "name, raw, message",
    [
        ("QA_CANDIDATES", "many", "not a valid int"),
        ("QA_CANDIDATES", "-3", "1 or more"),
        ("QA_MAX_CITATIONS", "0", "1 or more"),
        ("QA_EMBED_BATCH_SIZE", "0", "1 or more"),
        ("QA_RERANK_DEPTH", "-1", "0 or more"),
        ("QA_ABSTAIN_BELOW", "nan", "finite"),
        ("QA_DEBUG", "maybe", "boolean"),
        ("QA_RETRIEVER", "dense2", "choose one of: hybrid, bm25, dense"),
    ],
)
def test_bad_values_are_one_line_errors_naming_the_variable(monkeypatch, name: str, raw: str, message: str):
    monkeypatch.setenv(name, raw)
    with pytest.raises(QAError, match=message) as exc:
        Settings.from_env()
    assert name in str(exc.value) or "retriever" in str(exc.value)


def test_paths_default_to_the_data_home(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("QA_HOME", str(tmp_path))
    s = Settings.from_env()
    assert s.home == tmp_path and s.seeds_dir == tmp_path / "seeds" and s.index_dir == tmp_path / "indexes" / "default"


def test_home_is_the_checkout_whatever_the_current_folder(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("QA_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_home() == ROOT


def test_qa_ask_from_another_folder_finds_the_project_index(tmp_path: Path):
    # Without an index the message must name the project's index folder, not ./indexes/default.
    env = {"PATH": "/usr/bin:/bin", "QA_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "qa.cli", "ask", "Who?"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 3 and str(tmp_path / "home" / "indexes" / "default") in out.stderr


def test_mode_parser_lists_the_choices():
    assert Mode.parse("bm25") is Mode.BM25 and Mode.BM25 == "bm25"
    with pytest.raises(QAError, match="choose one of: hybrid, bm25, dense"):
        Mode.parse("sparse")
