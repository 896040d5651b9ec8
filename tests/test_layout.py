"""The package imports the same from the source tree as installed, with its data files."""
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
