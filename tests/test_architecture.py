"""The layout tells the story (docs/architecture.md): each stage of `qa/` imports only from the stages
before it, and every module belongs to a stage."""

from __future__ import annotations

import ast
from pathlib import Path

QA = Path(__file__).resolve().parents[1] / "qa"
# The order an article and then a question travel; serve and eval both sit on the answer step and
# know nothing of each other. config, errors, locking and memory are shared by all; the CLI sits on top.
RANK = {"__init__": 0, "config": 0, "errors": 0, "locking": 0, "memory": 0,
        "ingest": 1, "index": 2, "search": 3, "answer": 4, "serve": 5, "eval": 5,
        "cli": 6, "cli_web": 6, "cli_eval": 6, "__main__": 6}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(QA.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage(module: str) -> str:
    """qa.ingest.corpus -> ingest; qa.config -> config; qa -> __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imported(path: Path) -> set[str]:
    """The qa modules a file imports, at its top or inside functions, relative imports resolved."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "qa"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name.split(".")[0] == "qa":
                found.add(name)
    return found


def test_every_module_belongs_to_a_stage():
    assert {stage(module_name(p)) for p in QA.rglob("*.py")} <= set(RANK)


def test_no_stage_imports_a_later_one_or_a_sibling():
    wrong = []
    for path in sorted(QA.rglob("*.py")):
        own = stage(module_name(path))
        for name in imported(path):
            other = stage(name)
            # the shared modules use each other (config raises errors), as do the CLI's two files
            among_equals = RANK[own] == RANK[other] and RANK[own] in (RANK["config"], RANK["cli"])
            if other != own and RANK[other] >= RANK[own] and not among_equals:
                wrong.append(f"{module_name(path)} imports {name}")
    assert wrong == []


def test_the_walk_sees_imports_inside_functions_and_relative_ones(tmp_path):
    """The check above would miss nothing: a lazy import and a relative one are both found."""
    source = QA / "ingest" / "formats.py"
    names = imported(source)
    assert "qa.ingest.ocr" in names  # imported inside a function (OCR loads only for images)
    assert "qa.errors" in names
