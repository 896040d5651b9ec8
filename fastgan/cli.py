"""The `fastgan` command: parses, calls the Python API, prints. No logic of its own."""
import argparse
import gc
import json
import os
import signal
import sys
import warnings

from . import commands
from .presets import PRESETS

EXIT_RUNTIME = 1  # argparse exits with 2 on usage errors


def _ints(text):
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of ints")


def _cuts(text):
    """"10:0.01,20:0.1" -> [[10, 0.01], [20, 0.1]] (epoch: factor)."""
    try:
        return [[int(e), float(f)] for e, f in (c.split(":") for c in text.split(",") if c)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of EPOCH:FACTOR, e.g. 10:0.01")


_TYPES = {"ints": _ints, "cuts": _cuts}


def _train_parser(sub):
    p = sub.add_parser("train", help="train a GAN, writing pictures and checkpoints into --out")
    p.add_argument("--dataset", "--data_dir", default=None,
                   help="mnist-sample (default, embedded), mnist, fashion-mnist, bimodal, "
                   "parabola, ring8, grid25, an IDX folder or an .npz")
    p.add_argument("--digits", type=_ints, help="keep these labels only, e.g. 3,5")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int, help="train this many epochs (run total)")
    length.add_argument("--minutes", type=float, help="train for this many minutes")
    length.add_argument("--steps", type=int, help="train this many steps (run total)")
    p.add_argument("--preset", help=f"{', '.join(PRESETS)} (default: the data set's own)")
    for flag, kind, text in commands.CONFIG_FLAGS:
        p.add_argument(flag, *commands.FLAG_ALIASES.get(flag, []),
                       type=_TYPES.get(kind, kind), help=text)
    cond = p.add_mutually_exclusive_group()
    cond.add_argument("--conditional", action="store_true",
                      help="conditional GAN: labels one-hot into G and D")
    cond.add_argument("--unconditional", action="store_true",
                      help="ignore labels even where the preset is conditional")
    p.add_argument("--out", default="fastgan-run", help="run folder (default fastgan-run)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--checkpoint-seconds", type=float, help="least time between checkpoints "
                   "at epoch ends (default 20)")
    p.add_argument("--eval-every", type=int, help="score samples every K epochs (FID, digit "
                   "shares or toy modes) into metrics.jsonl and losses.png")
    p.add_argument("--eval-n", type=int, help="samples per evaluation (default 2000)")
    return p


def _sweep_parser(sub):
    p = sub.add_parser("sweep", help="train and evaluate many runs (a grid or random draws of "
                       "options, times seeds) on Dask; see docs/sweeps.md")
    p.add_argument("--file", help="sweep TOML file ([set], [grid], [random] tables)")
    p.add_argument("--grid", action="append", default=[], metavar="OPTION=V1,V2",
                   help="try every value (repeat for a full grid), e.g. loss=hinge,wasserstein")
    p.add_argument("--random", action="append", default=[], metavar="OPTION=KIND:A:B",
                   help="draw --samples values: uniform:lo:hi, log_uniform:lo:hi, int:lo:hi "
                   "or choice:a,b")
    p.add_argument("--set", action="append", default=[], metavar="OPTION=V",
                   help="a value every trial shares, e.g. ema=0.999")
    p.add_argument("--dataset", help="data set of every trial (default mnist-sample)")
    p.add_argument("--preset", help=f"{', '.join(PRESETS)} (default: the data set's own)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, help="train each trial this many minutes")
    length.add_argument("--epochs", type=int, help="train each trial this many epochs")
    p.add_argument("--seeds", type=int, help="run each setting with seeds 0..N-1 (default 1)")
    p.add_argument("--samples", type=int, help="random draws of the --random options")
    p.add_argument("--eval-n", type=int, help="samples each final evaluation scores "
                   "(default 10000)")
    p.add_argument("--out", default="fastgan-sweep", help="sweep folder (default fastgan-sweep)")
    p.add_argument("--resume", action="store_true", help="run the trials --out lacks")
    p.add_argument("--report", metavar="DIR", help="redraw the table and plot of sweep DIR")
    p.add_argument("--scheduler", help="a running Dask cluster: tcp://host:8786 or a "
                   "scheduler file (default: a local cluster)")
    p.add_argument("--workers", type=int, help="local cluster workers (default: cores)")
    p.add_argument("--threads", type=int, help="cores per trial (default: cores / workers)")
    p.add_argument("--checkpoint-seconds", type=float, default=20.0,
                   help="least time between a trial's checkpoints (default 20)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser():
    parser = argparse.ArgumentParser(prog="fastgan", description="Train MLP GANs fast on a CPU.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    s = sub.add_parser("sample", help="draw samples from a checkpoint")
    s.add_argument("checkpoint", help="a checkpoint.npz, or the run folder that holds it")
    s.add_argument("--n", type=int, default=100, help="number of samples (default 100)")
    s.add_argument("--out", required=True, help="FILE.npy for arrays or FILE.png for a grid")
    s.add_argument("--seed", type=int, default=None, help="seed of the noise")
    s.add_argument("--digit", type=int, default=None,
                   help="class to draw, for a conditional GAN (default: one row per class)")
    e = sub.add_parser("eval", help="score a checkpoint's samples (FID, digit coverage...)")
    e.add_argument("checkpoint", help="a checkpoint.npz, or the run folder that holds it")
    e.add_argument("--n", type=int, default=10000, help="samples to score (default 10000)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--dataset", help="what the GAN learned (default: from its run folder)")
    e.add_argument("--digits", type=_ints, help="digits it learned (default: from its run folder)")
    e.add_argument("--classifier", help="a digit classifier's .npz from train-classifier "
                   "(default: the shipped one)")
    e.add_argument("--json", action="store_true", help="print JSON")
    b = sub.add_parser("bench", help="time training steps against NumPy (and PyTorch/JAX)")
    b.add_argument("--full", action="store_true", help="the full plan: batches 64 and 256, "
                   "longer runs, empty-cache start-up")
    b.add_argument("--threads", type=int, help="cores to use (default all)")
    b.add_argument("--no-peers", action="store_true", help="skip PyTorch and JAX")
    b.add_argument("--peer-python", help="interpreter that has torch/jax (default "
                   "$FASTGAN_PEER_PYTHON, else this one)")
    b.add_argument("--json", action="store_true", help="print JSON")
    _sweep_parser(sub)
    c = sub.add_parser("train-classifier", help="retrain the evaluation digit classifier")
    c.add_argument("--out", required=True, help="where to write its .npz weights")
    c.add_argument("--epochs", type=int)
    c.add_argument("--seed", type=int, default=0)
    for command in sub.choices.values():  # also after the command, where users add it
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show tracebacks on errors")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        return _main(parser, args)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning as one line for people, without the source line it was raised from."""
    print(f"fastgan: warning: {message}", file=sys.stderr if file is None else file)


def _main(parser, args):
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "sample":
            path = commands.sample(args.checkpoint, args.n, args.out, args.seed, args.digit)
            print(f"wrote {path}")
            return 0
        if args.command == "eval":
            return _eval(args)
        if args.command == "bench":
            return _bench(args)
        if args.command == "sweep":
            return _sweep(args, parser)
        if args.command == "train-classifier":
            report = commands.retrain_classifier(args.out, args.epochs, args.seed,
                                                 progress=lambda info: print(info, flush=True))
            print(json.dumps(report))
            return 0
    except BrokenPipeError:  # e.g. `fastgan eval run | head -2`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"\nfastgan: interrupted{_kept_checkpoint(args)}", file=sys.stderr)
        return 130
    except Exception as e:
        if args.debug:
            raise
        message = str(e) or type(e).__name__
        print(f"fastgan: error: {message}", file=sys.stderr)
        return EXIT_RUNTIME
    return 0


def _kept_checkpoint(args):
    """What an interrupted `train` leaves to resume from, if anything."""
    out = getattr(args, "out", None) or "fastgan-run"
    if args.command != "train" or not os.path.exists(os.path.join(out, commands.CHECKPOINT)):
        return ""
    return f"; {out} keeps its last checkpoint: resume with {commands.resume_command(out)}"


def run():
    """The `fastgan` console script: main(), then an exit that skips the interpreter's last
    garbage collection. That collection walks every object Numba's compiler and its cache
    left behind, 0.4-0.7 s at the end of every command; the objects are freed as the
    process ends either way. (Not in main(): a process that calls it again and again, as
    the tests do, must keep collecting.)"""
    code = main()
    gc.freeze()
    return code


def _train(args):
    job = commands.prepare_train(vars(args))
    stop = _StopFlag()
    with stop.installed():
        reason = job.run(progress=not args.no_progress, should_stop=stop)
    print(job.summary(reason))
    return 130 if reason == "stopped" else 0


def _eval(args):
    metrics = commands.evaluate(args.checkpoint, args.n, args.seed, args.dataset, args.digits,
                                args.classifier)
    if args.json:
        print(json.dumps(metrics))
    else:
        from .evaluation import format_report
        print(format_report(metrics))
    return 0


def _bench(args):
    from .benchmark import format_table, run_bench
    say = None if args.json else (lambda msg: print(msg, file=sys.stderr, flush=True))
    results = run_bench(quick=not args.full, threads=args.threads, peers=not args.no_peers,
                        progress=say, peer_python=args.peer_python)
    print(json.dumps(results) if args.json else format_table(results))
    return 0


def _sweep(args, parser):
    from . import sweep
    if args.report:
        print(sweep.write_report(args.report))
        return 0
    options = {k: getattr(args, k) for k in ("file", "grid", "random", "set",
                                             *sweep.TOP_FLAGS)}
    spec = None
    if args.resume:
        given = [k for k, v in options.items() if v]
        if given:
            parser.error(f"--resume runs the sweep recorded in {args.out}; drop "
                         f"--{', --'.join(k.replace('_', '-') for k in given)}")
    else:
        spec = sweep.spec_from_options(**options)
    try:
        result = sweep.run_sweep(spec, args.out, resume=args.resume, scheduler=args.scheduler,
                                 workers=args.workers, threads=args.threads,
                                 checkpoint_seconds=args.checkpoint_seconds,
                                 progress=not args.no_progress)
    except KeyboardInterrupt:
        done = len(sweep.SweepFolder(args.out).records)
        print(f"\nfastgan: sweep stopped with {done} trials recorded in {args.out}\n"
              f"resume with: fastgan sweep --out {args.out} --resume", file=sys.stderr)
        return 130
    print(result["report"])
    failed = [r for r in result["ran"] if r["status"] == "failed"]
    print(f"{len(result['ran'])} trials run; results, report.md and report.png are in "
          f"{args.out}")
    if failed:  # a diverged trial is a result; a failed one did not run as asked
        print(f"fastgan: error: {len(failed)} of {len(result['ran'])} trials failed; the "
              f"first: {failed[0]['error']}", file=sys.stderr)
        return EXIT_RUNTIME
    return 0


class _StopFlag:
    """First Ctrl-C: finish the current step, checkpoint, exit. A second one aborts."""

    def __init__(self):
        self.requested = False

    def __call__(self):
        return self.requested

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nfastgan: stopping after this step (Ctrl-C again to abort)", file=sys.stderr)

    def installed(self):
        import contextlib

        @contextlib.contextmanager
        def ctx():
            previous = signal.signal(signal.SIGINT, self._handle)
            try:
                yield
            finally:
                signal.signal(signal.SIGINT, previous)
        return ctx()


if __name__ == "__main__":
    sys.exit(run())
