"""The command or script docs/tutorials.md gives each tutorial's user, read from the page and
run as written or shortened: the tests and compare.py run exactly what the page shows.

A block runs if the line before its opening fence is ``<!-- run: NAME -->``; NAME is the
tutorial's preset name.
"""
import re
import runpy
import shlex
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "tutorials.md"
_BLOCK = re.compile(r"<!-- run: (\S+) -->\n```(python|bash)\n(.*?)```", re.S)


def scripts(doc=DOC):
    """{name: (language, code)} of every runnable block on the page."""
    return {name: (lang, code) for name, lang, code in _BLOCK.findall(doc.read_text())}


def shortened(lang, code, length, unit="steps"):
    """`code` with its run length set to `length` (epochs or loop steps in Python; `unit`,
    "steps" or "epochs", on the command line)."""
    if lang == "python":
        code = re.sub(r"epochs\s*=\s*\d+", f"epochs={length}", code)
        return re.sub(r"range\(\d+\)", f"range({length})", code)
    code = re.sub(r" --(epochs|steps|minutes) \S+", "", code)
    return "\n".join(line + f" --{unit} {length}" if line.startswith("fastgan train") else line
                     for line in code.splitlines())


def run(lang, code, path):
    """Run a block in the current folder; return a Python block's globals ({} for bash).

    `path` is where a Python block's text is written first, so tracebacks show its lines.
    """
    if lang == "python":
        Path(path).write_text(code)
        return runpy.run_path(str(path), run_name="__main__")
    from fastgan.cli import main
    for line in code.splitlines():
        if line.startswith("fastgan "):
            argv = shlex.split(line)[1:]
            status = main(argv + ["--no-progress"] if argv[0] == "train" else argv)
            if status:
                raise RuntimeError(f"{line!r} exited with {status}")
    return {}
