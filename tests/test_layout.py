"""The package imports the same from the source tree as installed, with its data files."""
import ast
import os
import subprocess
import sys
from pathlib import Path

import fastgan
from fastgan import peers

REPO = Path(__file__).resolve().parents[1]


def test_source_tree_imports_with_its_kernels():
    # A script run from the clone's root finds the source folder fastgan/ before any installed
    # copy, so the source tree must hold fastgan.kernels too (fastgan/kernels -> ../kernels).
    code = ("import fastgan, fastgan.kernels.dense as d; from fastgan import GAN; "
            "print(fastgan.__file__); print(d.__file__)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert Path(out[0]) == REPO / "fastgan" / "__init__.py"
    assert Path(out[1]).resolve() == REPO / "kernels" / "dense.py"


def test_peer_scripts_ship_inside_the_package():
    package = Path(fastgan.__file__).resolve().parent
    assert peers.SCRIPTS.parent == package
    for engine in peers.PEERS:
        assert (peers.SCRIPTS / f"{engine}_step.py").is_file()
    assert (peers.SCRIPTS / "_common.py").is_file()


# Calls go one way: a module imports only modules of its own rank or lower.
RANKS = {
    0: ["fileio", "npzfile", "threads", "backends", "progress", "presets", "peers",
        "kernels", "data", "datasets", "plots", "gif", "nets", "config"],
    1: ["engine", "grid", "checkpoint", "resume", "train", "tutorial", "gan", "benchmark"],
    2: ["run"],
    3: ["evaluation"],
    4: ["commands"],
    5: ["sweep"],
    6: ["cli"],
    7: ["entry"],  # the console script: loads the CLI
}
RANK = {name: rank for rank, names in RANKS.items() for name in names}


def _imports(path):
    """fastgan modules (top-level names under fastgan) that `path` imports, at any depth."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            inside = path.parent != REPO / "fastgan"  # a subpackage: one more dot to the top
            if node.level and node.level > inside:
                found.add((node.module or node.names[0].name).split(".")[0])
            elif node.level == 0 and (node.module or "").startswith("fastgan."):
                found.add(node.module.split(".")[1])
    return found


def test_modules_import_downwards_only():
    upward = []
    for path in sorted((REPO / "fastgan").rglob("*.py")):
        rel = path.relative_to(REPO / "fastgan").parts
        if rel[0] in ("peer_steps", "kernels") or rel == ("__init__.py",):
            continue
        own = rel[0].removesuffix(".py")
        for name in {own} | _imports(path):
            assert name in RANK, f"fastgan.{name} has no layer in RANKS: add it"
        upward += [f"{own} imports {name}" for name in _imports(path)
                   if name != own and RANK[name] > RANK[own]]
    assert upward == []
