"""The `fastgan` console command. Loading the CLI loads NumPy, Numba and matplotlib, about a
second; a Ctrl-C in that second ends the command as one during a run does, without a
traceback."""
import sys

INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def run():
    """fastgan.cli.run(), once it has loaded."""
    try:
        from .cli import run as run_cli
    except KeyboardInterrupt:
        print("fastgan: interrupted", file=sys.stderr)
        return INTERRUPTED
    return run_cli()
