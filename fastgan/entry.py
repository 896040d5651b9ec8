"""The `fastgan` console command. Loading the CLI loads NumPy, Numba and matplotlib, about a
second; a Ctrl-C in that second ends the command as one during a run does, without a
traceback, and so does a FASTGAN_BLAS that names no gemm (fastgan.kernels.blas), which the
kernels refuse as they load."""
import sys

INTERRUPTED = 130  # 128 + SIGINT, as shells report it
ERROR = 1  # as the CLI returns for its other errors


def run():
    """fastgan.cli.run(), once it has loaded."""
    try:
        from .cli import run as run_cli
    except KeyboardInterrupt:
        print("fastgan: interrupted", file=sys.stderr)
        return INTERRUPTED
    except ValueError as error:
        from .kernels.checks import BlasChoiceError
        if not isinstance(error, BlasChoiceError):
            raise
        print(f"fastgan: error: {error}", file=sys.stderr)
        return ERROR
    return run_cli()
