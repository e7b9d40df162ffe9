"""The shape of the house, checked: arrows point downstream, imports are declared, files stay
readable, and the question path stays light."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Pipeline order: a module may import from its own stage or an earlier one, never a later one.
STAGES = [
    {"qa.errors", "qa.settings", "qa.metrics", "qa.runtime", "qa.text", "qa.dates"},
    {"qa.articles"},
    {"qa.documents", "qa.seeds"},
    {"qa.sentences"},
    {"qa.embed", "qa.minilm_onnx"},
    {"qa.backends", "qa.store"},
    {"qa.build", "qa.index"},
    {"qa.filters"},
    {"qa.answer_type", "qa.rerank", "qa.news"},
    {"qa.retrieve"},
    {"qa.units"},
    {"qa.query"},
    {"qa.answer"},
    {"qa.service"},
    {"qa.collection"},
    {"qa.evaluation", "qa.evaluation.questions", "qa.training", "qa.training.perturb", "qa.training.squad", "qa.training.model", "qa.training.checkpoint"},
    {"qa.evaluation.question_set", "qa.evaluation.benchmarks", "qa.evaluation.baselines", "qa.evaluation.canard", "qa.evaluation.short_answers", "qa.evaluation.abstention", "qa.training.items", "qa.training.export"},
    {"qa.evaluation.runners", "qa.training.validate"},
    {"qa.evaluation.reports", "qa.training.loop", "qa.training.first_stage"},
    {"qa.evaluation.command"},
    {"qa.cli"},
]
STAGE = {m: i for i, group in enumerate(STAGES) for m in group}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / "qa").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        out[name] = path
    for path in sorted((ROOT / "ui").glob("*.py")):
        out["qa_ui" if path.stem == "__init__" else f"qa_ui.{path.stem}"] = path
    return out


def _imports(path: Path) -> set[str]:
    """Every module imported anywhere in the file, function-level imports included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def test_every_module_has_a_stage():
    missing = [m for m in _modules() if m.startswith("qa") and not m.startswith("qa_ui") and m not in STAGE and m != "qa"]
    assert not missing, f"add these modules to STAGES: {missing}"


def test_no_module_imports_from_a_later_stage_or_from_the_ui_or_cli():
    """qa.cli is the top: it alone starts the UI (`qa serve`)."""
    modules = _modules()
    wrong = []
    for name, path in modules.items():
        if name.startswith("qa_ui") or name == "qa":
            continue
        for imported in _imports(path):
            target = imported if imported in STAGE else None
            if (imported.startswith("qa_ui") or imported == "ui" or imported.startswith("ui.")) and name != "qa.cli":
                wrong.append(f"{name} imports {imported} (the UI)")
            elif target and target != name and STAGE[target] > STAGE[name]:
                wrong.append(f"{name} (stage {STAGE[name]}) imports {imported} (stage {STAGE[target]})")
    assert not wrong, "\n".join(wrong)


def test_the_ui_uses_the_library_but_not_the_cli():
    for name, path in _modules().items():
        if name.startswith("qa_ui"):
            assert "qa.cli" not in _imports(path), name


def _declared() -> dict[str, set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(reqs: list[str]) -> set[str]:
        return {r.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip().lower().replace("_", "-") for r in reqs}

    out = {"core": names(project["dependencies"])}
    for extra, reqs in project["optional-dependencies"].items():
        out[extra] = names([r for r in reqs if not r.startswith("qa[")])
    return out


def test_every_third_party_import_is_declared():
    declared = _declared()
    dists = {k: {d.lower().replace("_", "-") for d in v} for k, v in packages_distributions().items()}
    stdlib = sys.stdlib_module_names
    missing = []
    for name, path in _modules().items():
        allowed = set(declared["core"])
        if name.startswith("qa.training"):
            allowed |= declared["train"]
        if name == "qa.evaluation.reports":
            allowed |= declared["reports"]
        for imported in _imports(path):
            top = imported.split(".")[0]
            if top in stdlib or top in ("qa", "qa_ui", "ui", "__future__"):
                continue
            if not dists.get(top, set()) & allowed:
                missing.append(f"{name} imports {top} ({', '.join(sorted(dists.get(top, {'?'})))}) not declared for it")
    assert not missing, "\n".join(sorted(set(missing)))


def test_no_file_is_too_long_to_read_in_one_sitting():
    long = [f"{p.relative_to(ROOT)}: {n}" for p in _modules().values() if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400]
    assert not long, long


@pytest.mark.model
def test_qa_ask_imports_no_framework(tmp_path: Path, seed_index: Path):
    """A question is answered by onnxruntime, faiss and bm25s: no torch, transformers,
    sentence-transformers, gradio, llama-index or matplotlib on the question path."""
    probe = (
        "import sys, json\n"
        "from qa.cli import main\n"
        f"code = main(['ask', 'Who attended the Riyadh talks?', '--index', {str(seed_index)!r}, '--json'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', 'sentence_transformers', 'gradio', 'llama_index', 'matplotlib', 'trafilatura'})\n"
        "print(json.dumps({'code': code, 'heavy': heavy}), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    result = json.loads(out.stderr.strip().splitlines()[-1])
    assert result == {"code": 0, "heavy": []}
