"""One entry for every case: :func:`run_case` runs a parsed case of any kind (atomistic
dynamics, a coupled model's statics or dynamics, a crack's K ramp, an indentation, a wave
packet, a region), :func:`restart_case` continues a checkpoint, on one process or on the
ranks of an MPI communicator; :func:`newest_checkpoint` finds what a killed job left."""

from __future__ import annotations

import sys
from pathlib import Path

from qc_sim.errors import InputError


def run_case(case, backend=None, steps=None, comm=None, log=None, progress=None):
    """Run ``case`` (a path or a parsed :class:`~qc_sim.cases.schema.Case`) to its end, or
    ``steps`` steps; the result object of its kind of run (``.status``: the exit status)."""
    from qc_sim.cases.schema import Case, load_case

    if not isinstance(case, Case):
        case = load_case(case)
    if case.region is not None:
        from qc_sim.simulation.region import run_region

        return run_region(case, backend=backend, steps=steps, comm=comm, log=log,
                          progress=progress)
    if case.coupling is not None:
        return run_coupled(case, backend=backend, steps=steps, comm=comm, log=log,
                           progress=progress)
    if comm is None:
        from qc_sim.simulation.atomistic import run_md

        return run_md(case, backend=backend, steps=steps, log=log, progress=progress)
    from qc_sim.simulation.atomistic_mpi import run_md_on_ranks

    return run_md_on_ranks(case, comm, backend=backend, steps=steps, log=log)


def restart_case(checkpoint, backend=None, steps=None, comm=None, log=None, progress=None,
                 case=None, path=None):
    """Continue a checkpoint (a path or a read :class:`~qc_sim.io.checkpoint.Checkpoint`)
    with the case it carries (``case``: that case, when the caller has parsed it already):
    to the case's end, or ``steps`` more steps. ``path`` names a read checkpoint in
    messages."""
    from qc_sim.cases.schema import parse_case
    from qc_sim.io.checkpoint import Checkpoint, read_checkpoint

    if isinstance(checkpoint, Checkpoint):
        cp, path = checkpoint, path or "the checkpoint"
    else:
        cp, path = read_checkpoint(checkpoint), checkpoint
    if case is None:
        case = parse_case(cp.case_text, Path(cp.case_path))
    if cp.kind == "coupled":
        return run_coupled(case, backend=backend, steps=steps, restart=cp, comm=comm, log=log,
                           progress=progress)
    if cp.kind == "region":
        from qc_sim.simulation.region import run_region

        return run_region(case, backend=backend, steps=steps, restart=cp, comm=comm, log=log,
                          progress=progress)
    if cp.kind != "atoms":
        raise InputError(f"{path}: a checkpoint of kind '{cp.kind}' (this qc-sim knows atoms, "
                         "coupled and region)")
    if comm is None:
        from qc_sim.simulation.atomistic import run_md

        return run_md(case, backend=backend, steps=steps, restart=cp, log=log,
                      progress=progress)
    from qc_sim.simulation.atomistic_mpi import run_md_on_ranks

    return run_md_on_ranks(case, comm, backend=backend, steps=steps, restart=cp, log=log)


def run_coupled(case, backend=None, steps=None, restart=None, comm=None, log=None,
                progress=None):
    """Build (with the patch test), then relax statically (:func:`~qc_sim.simulation.statics.relax_coupled`) or run
    dynamics (``[coupling] solve = "dynamics"``, :func:`~qc_sim.simulation.coupled_dynamics.
    coupled_dynamics`); a crack, an indentation or a wave packet runs its own study.
    ``restart``: a coupled checkpoint to continue. With ``comm`` of several MPI ranks the
    model is split over them (:class:`~qc_sim.coupling.domain.DomainCoupledModel`: the same
    bits on any rank count) and rank 0 logs. Returns the run's result object."""
    from qc_sim.simulation.control import rank_log
    from qc_sim.simulation.models import coupled_model
    from qc_sim.simulation.statics import relax_coupled

    ranks = 1 if comm is None else comm.Get_size()
    log = rank_log(log, comm)
    if restart is None and case.crack is not None:
        from qc_sim.simulation.crack import run_crack

        return run_crack(case, backend=backend, comm=comm, log=log)
    if restart is None and case.indent is not None:
        from qc_sim.simulation.indent import indentation

        return indentation(case, backend=backend, comm=comm, log=log)
    if restart is None and case.wave is not None:
        from qc_sim.simulation.wave import run_wave

        return run_wave(case, backend=backend, comm=comm, log=log)
    if restart is None and getattr(case, "nucleation", None) is not None:
        return _nucleation(case, backend, comm, log)
    if ranks > 1:
        from qc_sim.coupling.domain import DomainCoupledModel
        from qc_sim.errors import InputError

        if case.coupling.taylor_strain > 0:
            raise InputError(f"{case.path}: [coupling] taylor_strain: the Taylor far field "
                             "runs on one rank (for now): set it to 0 to run on several")
        serial, defect = coupled_model(case, backend, check=False)
        model = DomainCoupledModel(comm, serial, skin=case.potential.skin)
        model.check_patch_test()
    else:
        model, defect = coupled_model(case, backend, check=True)
        serial = model
    g = serial.geometry
    log(f"qc-sim {'restart' if restart else 'run'} {case.path}: coupled {serial.method}, "
        f"{g.mesh.n_nodes} nodes ({int(serial.free.sum())} free), {len(g.atom_sites)} atoms "
        f"({int((g.atom_node < 0).sum())} padding), {serial.device.describe()}"
        + (f", on {ranks} MPI ranks (imbalance {model.imbalance():.3f})" if ranks > 1 else ""))
    worst = max(r["max_ghost_force"] for r in model.patch_results)
    log(f"patch test: largest ghost force {worst:.3e} eV/Å over 5 deformations")
    if case.coupling.solve == "dynamics":
        from qc_sim.simulation.coupled_dynamics import coupled_dynamics

        return coupled_dynamics(case, model, serial, steps=steps, restart=restart, comm=comm,
                                log=log, progress=progress)
    return relax_coupled(case, model, serial, defect, comm=comm, log=log)


def _nucleation(case, backend, comm, log):
    """The surface-step nucleation study (:func:`qc_sim.simulation.nucleation.
    run_nucleation`) on one rank: a line every 10 NEB iterations; the band checkpointed to
    the case's [output] checkpoint (as .npz), from which a second run of the case goes on."""
    from qc_sim.backend import get_device
    from qc_sim.errors import InputError
    from qc_sim.simulation.nucleation import run_nucleation

    if comm is not None and comm.Get_size() > 1:
        raise InputError(f"{case.path}: [nucleation] runs on one rank (for now)")

    def every_tenth(iteration, max_force, energies):
        if iteration % 10 == 0:
            log(f"NEB iteration {iteration:>6d}: largest force {max_force:.3e} eV/Å, highest "
                f"image {float(max(energies)):.5f} eV above the first")

    checkpoint = (str(Path(case.output.checkpoint).with_suffix(".npz"))
                  if case.output.checkpoint else None)
    return run_nucleation(case, progress=every_tenth, checkpoint=checkpoint,
                          device=get_device(backend or case.run.backend), log=log)


def same_case(path, cp, case) -> None:
    """A resumed job continues only a checkpoint of the same case: one written by a case of
    other text (another job's in a shared directory, or this case since edited) is refused,
    naming both."""
    from qc_sim.io.claims import case_sha256

    mine = case_sha256(case.text)
    if cp.case_sha256 == mine:
        return
    run = f", run {cp.run_id}" if cp.run_id else ""
    raise InputError(f"{path}: written by case {cp.case_path} (sha256 {cp.case_sha256[:12]}"
                     f"{run}), not by {case.path} (sha256 {mine[:12]}): --resume continues "
                     f"only its own case's checkpoint (`qc-sim restart {path}` continues that "
                     "run with its own case)")


def newest_checkpoint(case, read=False, log=None):
    """The newest readable checkpoint of ``case`` (its [output] checkpoint, then NAME.1,
    NAME.2, ...), or None; a damaged one is passed over with a line to ``log`` (default
    stderr). ``read``: (its path, the checkpoint read)."""
    from qc_sim.io.checkpoint import read_checkpoint

    if log is None:
        def log(line):
            print(line, file=sys.stderr)
    if not case.output.checkpoint:
        raise InputError(f"{case.path}: --resume needs an [output] checkpoint in the case")
    path = Path(case.output.checkpoint)
    for candidate in [path] + [path.with_name(f"{path.name}.{k}")
                               for k in range(1, case.output.keep + 1)]:
        if not candidate.is_file():
            continue
        try:
            cp = read_checkpoint(candidate)
            return (candidate, cp) if read else candidate
        except InputError as exc:
            log(f"qc-sim: passing over {candidate}: {str(exc).split(': ', 1)[-1]}")
    return None
