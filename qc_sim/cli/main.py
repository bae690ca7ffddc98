"""The ``qc-sim`` command: ``run``, ``validate``, ``patch-test``, ``properties``, ``info``.

Bad input (case file, potential file, arguments) ends with one line on stderr naming what is
wrong and where, and exit status 2, never a traceback; a relaxation that does not converge
in the steps allowed ends with one line and exit status 1.
"""

from __future__ import annotations

import argparse
import sys

from qc_sim import __version__
from qc_sim.errors import BackendUnavailable, InputError
from qc_sim.coupling.model import GhostForceError
from qc_sim.solvers.protocol import NotConverged


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"qc-sim: error: {message}\n")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="qc-sim", description="Concurrent atomistic-continuum simulation.")
    p.add_argument("--version", action="version", version=f"qc-sim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = sub.add_parser("run", help="run a case file")
    r.add_argument("case", help="path to a TOML case file")
    r.add_argument("--backend", choices=("auto", "gpu", "cpu", "numpy"),
                   help="override the case's backend")
    r.add_argument("--steps", type=_count, help="override the number of steps")
    r.add_argument("--resume", action="store_true",
                   help="continue from the newest good checkpoint of the case's [output] "
                   "checkpoint (NAME, NAME.1, ...) if there is one, else start")
    rs = sub.add_parser("restart", help="continue a run from a checkpoint")
    rs.add_argument("checkpoint", help="an HDF5 checkpoint written by qc-sim run")
    rs.add_argument("--steps", type=_count, help="run this many more steps (default: to the "
                    "case's total)")
    rs.add_argument("--backend", choices=("auto", "gpu", "cpu", "numpy"))
    pt = sub.add_parser("patch-test", help="the patch test of a coupled case: ghost forces per "
                        "zone under homogeneous deformations")
    pt.add_argument("case")
    pt.add_argument("--json", action="store_true", help="print one JSON object")
    pt.add_argument("--backend", choices=("auto", "gpu", "cpu", "numpy"), default=None)
    m = sub.add_parser("merge", help="merge the per-rank parts (NAME.partK) of an MPI run's "
                       "trajectory into its H5MD and GSD files")
    m.add_argument("trajectory", help="the parts' name: the case's [output] trajectory, or its "
                   "gsd when it names no H5MD one")
    m.add_argument("-o", "--output", help="one merged file instead (GSD for a .gsd name, else "
                   "H5MD; default: the files the case names)")
    v = sub.add_parser("validate", help="check a case file without running it: every check "
                       "run makes before its first step (for a coupled case the model built "
                       "and its patch test)")
    v.add_argument("case")
    v.add_argument("--backend", choices=("auto", "gpu", "cpu", "numpy"), default=None)
    sub.add_parser("info", help="version, backends, device, compiler")
    pr = sub.add_parser("properties", help="lattice constant, elastic constants, surface and "
                        "stacking-fault energies, vacancy formation and migration of a potential")
    pr.add_argument("potential", help="EAM file (.eam, .eam.alloy, .eam.fs)")
    pr.add_argument("--element", required=True, help="element of the file to study")
    pr.add_argument("--lattice", choices=("fcc", "bcc"), default="fcc")
    pr.add_argument("--json", action="store_true", help="print one JSON object")
    pr.add_argument("--plot", metavar="DIR", help="write PNG figures into DIR")
    pr.add_argument("--images", type=int, default=5, help="inner NEB images (default 5)")
    pr.add_argument("--interpolation", choices=("linear", "idpp"), default="linear",
                    help="initial NEB path (default linear)")
    pr.add_argument("--max-steps", type=_count, default=20_000,
                    help="steps allowed to each relaxation and to the NEB")
    pr.add_argument("--backend", choices=("auto", "gpu", "cpu", "numpy"), default=None)
    pr.add_argument("--rates", action="store_true", help="only the vacancy hop by harmonic "
                    "transition-state theory: Vineyard prefactor, E_m and D_v(T)")
    pr.add_argument("--temperatures", metavar="T1,T2,...", help="temperatures (K) for "
                    "--rates (default 300,600,900,1200)")
    pr.add_argument("--cells", type=int, help="cubic cells per side of the vacancy "
                    "supercell for --rates (default 4)")
    pr.add_argument("--hessian-radius", type=float, metavar="R", help="for --rates: Hessian "
                    "of the atoms within R Å of the hop only, the rest held (default: all)")
    from qc_sim.cli.homogenize import add_parser as add_homogenize

    add_homogenize(sub)
    return p


def main(argv=None) -> int:
    from qc_sim.parallel.mpi import guarded

    return guarded(_main, argv)


def _main(argv=None) -> int:
    args = _parser().parse_args(argv)
    from qc_sim.parallel.mpi import world

    comm, rank, size = world()
    if comm is not None and size > 1:  # every rank, before any kernel: the default threads
        from qc_sim.backend.cpu import configure_threads

        configure_threads(comm)
    if size > 1 and args.command not in ("info", "run", "restart", "homogenize"):
        if rank == 0:
            print(f"qc-sim: error: {args.command} runs on one rank (launched on {size} MPI "
                  "ranks): run it without mpiexec", file=sys.stderr)
        return 2
    if size > 1 and args.command in ("run", "restart", "homogenize"):
        return _on_ranks(args, comm, rank, size)
    try:
        if args.command in ("run", "restart"):
            return _run_job(args)
        if args.command == "merge":
            from qc_sim.io.h5md_parts import merge_trajectory

            for path, frames, atoms in merge_trajectory(args.trajectory, args.output):
                print(f"{path}: {frames} frames of {atoms} atoms")
            return 0
        if args.command == "patch-test":
            from qc_sim.cli.patch_test import run_patch_test

            return run_patch_test(args)
        if args.command == "validate":
            from qc_sim.cli.validate import validate_case

            return validate_case(args.case, args.backend)
        if args.command == "properties":
            from qc_sim.cli.properties import run_properties

            return run_properties(args)
        if args.command == "homogenize":
            from qc_sim.cli.homogenize import run_homogenize

            return run_homogenize(args)
        if args.command == "info":
            from qc_sim.cli.info import print_info

            return print_info()
    except (InputError, BackendUnavailable) as exc:
        print(f"qc-sim: error: {exc}", file=sys.stderr)
        return 2
    except NotConverged as exc:
        print(f"qc-sim: not converged: {exc}", file=sys.stderr)
        return 1
    except GhostForceError as exc:
        print(f"qc-sim: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # stdout closed early (qc-sim run CASE | head): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return 0


def _run_job(args, comm=None) -> int:
    """``run`` and ``restart``, on one rank (``comm`` None) or on the ranks of ``comm``: the
    files the run will write are claimed before any work (:mod:`qc_sim.io.claims`; another
    job holding one ends this one with one line, status 2), and held until it ends."""
    from pathlib import Path

    from qc_sim.cases.schema import load_case, parse_case
    from qc_sim.io.checkpoint import read_checkpoint
    from qc_sim.io.claims import claim_outputs, continuation
    from qc_sim.simulation.run import newest_checkpoint, same_case

    lead = comm is None or comm.Get_rank() == 0
    if args.command == "run":
        case = load_case(args.case)
        with claim_outputs(case, comm) as job:
            found = newest_checkpoint(case, read=True) if args.resume else None
            if found is None:
                return _start(args, case, comm)
            found, cp = found
            same_case(found, cp, case)
            job.continues(cp)
            if lead:
                print(f"resuming from {found}", file=sys.stderr)
                print(continuation(found, cp), flush=True)
            return _continue(args, found, cp, None, comm)  # the case as the run wrote it
    cp = read_checkpoint(args.checkpoint)
    case = parse_case(cp.case_text, Path(cp.case_path))
    with claim_outputs(case, comm, restart=cp):
        if lead:
            print(continuation(args.checkpoint, cp), flush=True)
        return _continue(args, args.checkpoint, cp, case, comm)


def _start(args, case, comm) -> int:
    """A fresh run of ``case`` (the file ``args.case``)."""
    from qc_sim.cli.run import run

    return run(case, backend=args.backend, steps=args.steps, comm=comm)


def _continue(args, path, cp, case, comm) -> int:
    """Continue the checkpoint ``cp`` read from ``path`` (``case``: its case parsed from the
    checkpoint, or None to parse it here)."""
    from qc_sim.cli.run import restart

    return restart(path, cp, case, backend=args.backend, steps=args.steps, comm=comm)


def _on_ranks(args, comm, rank, size) -> int:
    """``run`` and ``restart`` of an atomistic, coupled or region case, and ``homogenize``,
    on several MPI ranks. Bad input is found on every rank alike; rank 0 prints the one
    line, every rank exits with 2."""
    try:
        if comm is None:
            raise InputError(f"launched on {size} MPI ranks but mpi4py is not installed "
                             "(pip install 'qc-sim[mpi]')")
        if args.command == "homogenize":  # its cell problems spread over the ranks
            from qc_sim.cli.homogenize import run_homogenize

            return run_homogenize(args, comm=comm)
        return _run_job(args, comm)
    except (InputError, BackendUnavailable) as exc:
        if rank == 0:
            print(f"qc-sim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
