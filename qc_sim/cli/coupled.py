"""The coupled-model subcommands: ``qc-sim patch-test CASE`` and ``qc-sim run`` of a case with
a [coupling] section: a static solve (reporting the defect energy) or velocity Verlet on
atoms and nodes with thermo lines, checkpoints that restart bitwise, mesh fields as XDMF
and the atoms and nodes as H5MD and GSD trajectories (:mod:`qc_sim.cli.particles`)."""

from __future__ import annotations

import json
import sys

import numpy as np

from qc_sim.coupling.fields import mesh_fields


def _model(path, backend, check, case=None):
    from qc_sim.backend import get_device
    from qc_sim.cases.build import build_coupled, build_potential
    from qc_sim.cases.schema import load_case
    from qc_sim.errors import InputError

    case = load_case(path) if case is None else case
    if case.coupling is None:
        raise InputError(f"{case.path}: no [coupling] section: nothing to patch-test")
    device = get_device(backend or case.run.backend)
    potential = build_potential(case)
    if case.crack is not None:  # the crack's model (its patch test runs on the uncut twin)
        from qc_sim.cli.crack import crack_model

        return case, crack_model(case, potential, device, None).model, None
    if case.indent is not None:  # the slab with its surface (its patch test on the twin)
        from qc_sim.cli.indent import indent_model

        return case, indent_model(case, potential, device).model, None
    if case.wave is not None:  # the slab periodic across the packet, as run_wave builds it
        return case, wave_model(case, potential, device)[0], None
    if case.coupling.defect in ("lomer_dipole", "edge_dipole"):
        dipole = dipole_model(case, potential, device)
        return case, dipole.model, dipole
    model, vacancy = build_coupled(case, potential, device, check=check)
    return case, model, vacancy


def wave_model(case, potential, device):
    """(the bgfc model, the core's x) of a wave-packet case: the slab periodic along y, the
    core a band about the middle (:func:`~qc_sim.coupling.wave.wave_slab`), patch-tested."""
    from qc_sim.coupling.wave import wave_slab
    from qc_sim.errors import InputError
    from qc_sim.geometry import triangular

    lat, c = case.lattice, case.coupling
    try:
        return wave_slab(triangular(lat.a), lat.repeats, potential, lat.species[0],
                         c.core_radius * lat.a, c.width * lat.a, device)
    except ValueError as exc:
        raise InputError(f"{case.path}: [coupling] {exc}") from None


def run_wave(case, backend=None, out=sys.stdout, comm=None) -> int:
    """A plane wave packet leaving the core of the case's slab: the fraction of its energy the
    handshake reflects back (:mod:`qc_sim.coupling.wave`); split over the ranks of ``comm``
    when there are several (rank 0 prints)."""
    from qc_sim.cli.run import rank_out

    from qc_sim.backend import get_device
    from qc_sim.cases.build import build_potential
    from qc_sim.coupling.wave import reflected_fraction

    lat, c, w = case.lattice, case.coupling, case.wave
    device = get_device(backend or case.run.backend)
    potential = build_potential(case)
    model, centre = wave_model(case, potential, device)
    g = model.geometry
    ranks = 1 if comm is None else comm.Get_size()
    runner = None
    if ranks > 1:
        from qc_sim.coupling.domain import DomainCoupledModel

        runner = DomainCoupledModel(comm, model, skin=case.potential.skin)
        runner.check_patch_test()
    out = rank_out(out, comm)
    worst = max(r["max_ghost_force"] for r in (runner or model).patch_results)
    print(f"qc-sim run {case.path}: wave packet, coupled bgfc slab periodic along y, "
          f"{g.mesh.n_nodes} nodes, {len(g.atom_sites)} atoms, core band 2 x "
          f"{c.core_radius:g} a, handshake {c.width:g} a, damping {c.damping:g}/ps; patch test: "
          f"largest ghost force {worst:.3e} eV/Å"
          + (f"; {ranks} MPI ranks (imbalance {runner.imbalance():.3f})" if runner else ""),
          file=out)
    r = reflected_fraction(model, centre, potential, _atom_mass(case, potential),
                           w.wavelength, c.damping, w.amplitude * lat.a, w.sigma * lat.a,
                           case.dynamics.timestep, device, species=lat.species[0],
                           runner=runner)
    print(f"wavelength {r.wavelength} a (ka {r.ka:.4f}), omega {r.omega:.4f} /ps, group "
          f"velocity {r.group_velocity:.4f} Å/ps; ran {r.time:.3f} ps", file=out)
    print(f"reflected fraction {r.reflected:.6f} (core energy {r.start:.6e} eV at the start, "
          f"{r.end:.6e} eV after the crossing)", file=out)
    return 0


def dipole_model(case, potential, device):
    """The case's :class:`~qc_sim.coupling.dipoles.Dipole` (edge or Lomer)."""
    from qc_sim.cases.checks import check_dipole_room
    from qc_sim.coupling.dipoles import build_edge_dipole, build_lomer_dipole
    from qc_sim.errors import InputError
    from qc_sim.geometry import fcc, triangular
    from qc_sim.properties.bulk import cubic_elastic_constants

    lat, c = case.lattice, case.coupling
    check_dipole_room(case, potential.cutoff)
    try:
        if c.defect == "edge_dipole":
            return build_edge_dipole(triangular(lat.a), lat.repeats, potential,
                                     lat.species[0], c.dipole_planes, c.core_radius * lat.a,
                                     c.width * lat.a, method=c.method, rate=c.rate,
                                     device=device)
        elastic = cubic_elastic_constants(potential, lat.species[0], "fcc", lat.a, device)
        return build_lomer_dipole(fcc(lat.a), lat.repeats, potential, lat.species[0], elastic,
                                  c.dipole_planes, c.core_radius * lat.a, c.width * lat.a,
                                  method=c.method, rate=c.rate, device=device)
    except ValueError as exc:
        raise InputError(f"{case.path}: [coupling] {exc}") from None


def run_patch_test(args) -> int:
    """Per F (I, the far field, three random strains of size 1e-3): the largest ghost force
    overall and per zone. Exit 1 when the coupling breaks its promise."""
    from qc_sim.coupling.model import GhostForceError

    case, model, _ = _model(args.case, args.backend, check=False)
    rng = np.random.default_rng(0)
    d = model.dim
    F_list = [np.eye(d), model.far_field] + [np.eye(d) + 1e-3 * rng.uniform(-1, 1, (d, d))
                                            for _ in range(3)]
    labels = ["identity", "far field", "random 1", "random 2", "random 3"]
    results = model.patch_test(F_list)
    for label, r in zip(labels, results):
        r["label"] = label
    try:
        model.check_patch_test()
        verdict, status = f"{model.method} keeps its promise", 0
    except GhostForceError as exc:
        verdict, status = str(exc), 1
    if args.json:
        print(json.dumps({"case": str(case.path), "method": model.method, "results": results,
                          "verdict": verdict, "passed": status == 0}, indent=2))
    else:
        print(f"patch test of {case.path} ({model.method}, {model.geometry.mesh.n_nodes} nodes, "
              f"{len(model.geometry.atom_sites)} atoms)")
        print(f"{'F':>10} {'max ghost':>12} {'core':>12} {'handshake':>12} {'continuum':>12}"
              "  (eV/Å)")
        for r in results:
            print(f"{r['label']:>10} {r['max_ghost_force']:>12.3e} {r['core']:>12.3e} "
                  f"{r['handshake']:>12.3e} {r['continuum']:>12.3e}")
        print(verdict)
    if status:
        print(f"qc-sim: {verdict}", file=sys.stderr)
    return status


def run_coupled(path, backend=None, out=sys.stdout, steps=None, restart=None,
                comm=None) -> int:
    """Build (with the patch test), then solve statically and report energy and defect
    energy, or (``[coupling] solve = "dynamics"``) run dynamics; ``restart`` is a coupled
    checkpoint to continue. With ``comm`` of several MPI ranks the model is split over them
    (:class:`~qc_sim.coupling.domain.DomainCoupledModel`: the same bits on any rank count)
    and rank 0 prints."""
    from pathlib import Path

    from qc_sim.cases.schema import load_case, parse_case
    from qc_sim.cli.run import rank_out

    ranks = 1 if comm is None else comm.Get_size()
    out = rank_out(out, comm)
    case = (load_case(path) if restart is None
            else parse_case(restart.case_text, Path(restart.case_path)))
    if restart is None and case.crack is not None:
        from qc_sim.cli.crack import run_crack

        return run_crack(case, backend=backend, out=out, comm=comm)
    if restart is None and case.indent is not None:
        from qc_sim.cli.indent import run_indent

        return run_indent(case, backend=backend, out=out, comm=comm)
    if restart is None and case.wave is not None:
        return run_wave(case, backend=backend, out=out, comm=comm)
    if ranks > 1:
        from qc_sim.coupling.domain import DomainCoupledModel
        from qc_sim.errors import InputError

        if case.coupling.taylor_strain > 0:
            raise InputError(f"{case.path}: [coupling] taylor_strain: the Taylor far field "
                             "runs on one rank (for now): set it to 0 to run on several")
        case, serial, vacancy = _model(path, backend, check=False, case=case)
        model = DomainCoupledModel(comm, serial, skin=case.potential.skin)
        model.check_patch_test()
    else:
        case, model, vacancy = _model(path, backend, check=True, case=case)
        serial = model
    g = serial.geometry
    print(f"qc-sim {'restart' if restart else 'run'} {case.path}: coupled {serial.method}, "
          f"{g.mesh.n_nodes} nodes ({int(serial.free.sum())} free), {len(g.atom_sites)} atoms "
          f"({int((g.atom_node < 0).sum())} padding), {serial.device.describe()}"
          + (f", on {ranks} MPI ranks (imbalance {model.imbalance():.3f})" if ranks > 1
             else ""), file=out)
    worst = max(r["max_ghost_force"] for r in model.patch_results)
    print(f"patch test: largest ghost force {worst:.3e} eV/Å over 5 deformations", file=out)
    if case.coupling.solve == "dynamics":
        return _dynamics(case, model, serial, out, steps, restart, comm)
    return _statics(case, model, serial, vacancy, out, comm)


def _statics(case, model, serial, vacancy, out, comm) -> int:
    """Relax (serially, by :func:`qc_sim.coupling.statics.relax`: preconditioned L-BFGS, or
    the preconditioned Anderson fixed point for bqcf; on ranks, or with ``precondition =
    false``, L-BFGS or FIRE) and report the energy and a vacancy's formation
    energy (against the defect-free twin of the same zones)."""
    import time

    from qc_sim.solvers import fire, lbfgs

    start = time.perf_counter()
    solve = fire if serial.method == "bqcf" else lbfgs
    def progress(k, e, f):
        if k % 50 == 0:
            print(f"{k:>8d} {e:>20.8f} {f:>12.3e}", file=out, flush=True)

    if comm is None and case.coupling.precondition:
        from qc_sim.coupling.statics import relax

        result = relax(model, fmax=case.coupling.fmax, on_step=progress).result
        if serial.taylor_strain is not None:
            t = serial.taylor_error()
            print(f"Taylor far field: {t['taylor_elements']} elements (largest strain "
                  f"{t['max_strain']:.2e}), energy {t['energy_error']:+.2e} eV against the "
                  "full Cauchy-Born sum", file=out)
    else:
        result = solve(model, fmax=case.coupling.fmax, max_steps=20_000, on_step=progress)
    print(result.message, file=out)
    if not result.converged and solve is lbfgs:
        # SciPy's line search stops at the round-off of a large total energy (ABNORMAL)
        # before the forces are small: FIRE, which needs forces only, goes on from there
        result = fire(model, fmax=case.coupling.fmax, max_steps=100_000, on_step=progress)
        print(result.message, file=out)
    from qc_sim.coupling.dipoles import Dipole, dipole_energy

    if isinstance(vacancy, Dipole):  # the dipole: its energy against the uncut twin
        dipole = vacancy
        energy = result.energy if comm is None else model.evaluate(model.y)[0]
        e = dipole_energy(dipole, energy)
        if case.coupling.defect == "lomer_dipole":
            print(f"Lomer dipole energy {e:.6f} eV ({e / dipole.line_length:.6f} eV/Å of line, "
                  f"{dipole.removed} sites removed, line {dipole.line_length:.4g} Å)", file=out)
        else:
            print(f"edge dipole energy {e:.6f} eV ({dipole.removed} sites removed; cores at "
                  f"{np.round(dipole.dipole.cores, 3).tolist()} Å)", file=out)
    elif vacancy is not None:
        if comm is None:
            twin = serial.twin
            energy = twin.evaluate if serial.method != "bqcf" else twin.bqce
            e_vacancy = result.energy if serial.method != "bqcf" else serial.bqce(serial.y)[0]
        else:  # the twin split over the ranks too; its energy is the blended one for bqcf
            from qc_sim.coupling.domain import DomainCoupledModel

            twin = DomainCoupledModel(comm, serial.twin, model.costs, case.potential.skin)
            energy = twin.evaluate
            e_vacancy = model.evaluate(model.y)[0]
        if serial.method != "bgfc" and comm is None and case.coupling.precondition:
            from qc_sim.coupling.statics import relax

            relax(twin, fmax=case.coupling.fmax)
        elif serial.method != "bgfc":
            solve(twin, fmax=case.coupling.fmax, max_steps=20_000)
        e_perfect = energy(twin.y)[0]
        site = serial.material.energy(np.eye(serial.dim)) * serial.material.volume
        print(f"vacancy formation energy {e_vacancy - e_perfect + site:.6f} eV", file=out)
    print(f"solve time {time.perf_counter() - start:.2f} s", file=out)
    if case.output.mesh:
        fields = _frame_fields(model, serial, comm)
        if fields is not None:
            _write_mesh(case.output.mesh, serial, [(0.0,) + fields])
    _relaxed_frame(case, model, serial)
    result.check()
    return 0


def _relaxed_frame(case, model, serial) -> None:
    """The relaxed state as the one frame (step 0) of the case's H5MD and GSD files."""
    from qc_sim.cli.particles import CoupledTrajectory

    with CoupledTrajectory(case, model, serial) as trajectory:
        trajectory.append(0)


def _frame_fields(model, serial, comm, velocities=None):
    """The mesh fields of one output frame: of ``model`` itself on one rank; on several,
    the owned nodes' positions (and velocities) gathered on rank 0, which computes the
    fields from the serial model's mesh and material (None on the other ranks)."""
    if comm is None or comm.Get_size() == 1:
        return mesh_fields(model, velocities)
    y = model.gather_nodes(model.y)
    v = model.gather_nodes(velocities) if velocities is not None else None
    return None if y is None else mesh_fields(serial, v, y=y)


def _write_mesh(path, model, frames):
    from qc_sim.io.xdmf import write_xdmf

    return write_xdmf(path, model.geometry.mesh, frames)


def _atom_mass(case, potential) -> float:
    from qc_sim.geometry import elements

    if case.lattice.masses:
        return float(case.lattice.masses[0])
    if hasattr(potential, "masses"):
        return float(potential.masses[potential.species.index(case.lattice.species[0])])
    return float(elements.standard_mass(case.lattice.species[0]))


def _dynamics(case, model, serial, out, steps, restart, comm=None) -> int:
    """Velocity Verlet on the coupled model (DESIGN section 4): thermo lines, CSV, mesh
    frames, checkpoints of the node positions and velocities keyed by node id; SIGTERM or
    SIGINT writes a checkpoint and stops. ``model`` is ``serial`` itself, or its share of
    this rank of ``comm`` (the thermo sums exact and global, checkpoints one part per rank,
    a stop agreed by every rank)."""
    import time

    from qc_sim.atomistic.random import maxwell_boltzmann_velocities
    from qc_sim.cli.run import STOP_STATUS, ProgressBar, _Stop
    from qc_sim.coupling.dynamics import CoupledDynamics, handshake_damping, node_masses
    from qc_sim.errors import InputError
    from qc_sim.io.checkpoint import Checkpoint, write_checkpoint, write_checkpoint_parts
    from qc_sim.parallel.mpi import global_exact_sum, global_max
    from qc_sim.units import BOLTZMANN, MVV2E

    ranks = 1 if comm is None else comm.Get_size()
    main = ranks == 1 or comm.Get_rank() == 0
    dyn, c, output = case.dynamics, case.coupling, case.output
    mesh = serial.geometry.mesh
    nn, d = serial.y.shape
    ids = np.arange(nn)
    mine = ids if ranks == 1 else model.nodes  # the nodes this rank advances
    masses = node_masses(serial, _atom_mass(case, serial.atoms.potential))
    damping = handshake_damping(serial, c.damping)[mine] if c.damping > 0 else None
    md = CoupledDynamics(model, masses[mine], dyn.timestep, damping)
    # The kinetic degrees of freedom, one count for the initial velocities and the thermo:
    # d (N_free - 1), the centre-of-mass motion removed (LAMMPS's default, as atoms count).
    dof = max(d * int(serial.free.sum()) - d, 0)
    if restart is None:
        v0 = maxwell_boltzmann_velocities(masses, ids, dyn.temperature, dyn.seed, dimension=d,
                                          fixed_mask=~serial.free, dof=dof)[:, :d]
        first_step, first_time = 0, 0.0
        total = dyn.steps if steps is None else steps
    else:
        reference = restart.fields.get("reference_nodes")
        if (restart.kind != "coupled" or not np.array_equal(restart.ids, ids)
                or reference is None or not np.array_equal(reference, mesh.nodes)):
            raise InputError(f"{restart.case_path}: the checkpoint's nodes are not those of the "
                             "coupled model its case builds")
        model.y = np.array(restart.positions, float)[mine]
        v0 = restart.velocities
        first_step, first_time = restart.step, restart.time
        total = max(dyn.steps - restart.step, 0) if steps is None else steps
    state = md.init_state(np.asarray(v0)[mine])
    state.step, state.time = first_step, first_time
    csv = open(output.thermo_csv, "w" if restart is None else "a") \
        if output.thermo_csv and main else None
    if csv is not None and restart is None:
        csv.write("step,time_ps,pe_eV,ke_eV,etotal_eV,temperature_K,fmax_eV_A\n")
    frames = []
    last = first_step + total
    bar = ProgressBar(total, output.progress if main else "never", first=first_step)
    print(f"{'Step':>10} {'Time':>10} {'PotEng':>16} {'KinEng':>14} {'TotEng':>16} "
          f"{'Temp':>10} {'Fmax':>12}", file=out)

    def report(s):
        bar.clear()
        ke = global_exact_sum(comm, 0.5 * MVV2E * md.masses[:, None] * s.velocities**2)
        temp = 2 * ke / (dof * BOLTZMANN) if dof else 0.0
        fmax = global_max(comm, float(np.sqrt((s.forces**2).sum(axis=1)).max(initial=0.0)))
        print(f"{s.step:>10d} {s.time:>10.4f} {s.energy:>16.8f} {ke:>14.8f} "
              f"{s.energy + ke:>16.8f} {temp:>10.3f} {fmax:>12.5e}", file=out, flush=True)
        if csv is not None:
            csv.write(f"{s.step},{s.time!r},{s.energy!r},{ke!r},{s.energy + ke!r},{temp!r},"
                      f"{fmax!r}\n")

    def checkpoint(s):
        cp = Checkpoint(mine, model.y.copy(), s.velocities.copy(), s.step, s.time, case.text,
                        str(case.path), kind="coupled", fields={"reference_nodes": mesh.nodes})
        if ranks == 1:
            return write_checkpoint(output.checkpoint, cp, keep=output.keep)
        cp.fields = {}
        return write_checkpoint_parts(output.checkpoint, cp, comm, keep=output.keep,
                                      fields={"reference_nodes": mesh.nodes})

    def frame(s):
        fields = _frame_fields(model, serial, comm, s.velocities)
        if fields is not None:  # rank 0 keeps the frames
            frames.append((s.time,) + fields)

    def stopping(s, signal) -> bool:
        """Whether to stop: at once on one rank; on several, every rank together, checked
        every 10 steps."""
        if ranks == 1:
            return signal is not None
        return s.step % 10 == 0 and global_max(comm, 1.0 if signal else 0.0) > 0

    from qc_sim.cli.particles import CoupledTrajectory

    particles = CoupledTrajectory(case, model, serial, None if restart is None else first_step)
    report(state)
    if output.mesh:
        frame(state)
    if restart is None or first_step % output.trajectory_every == 0:
        particles.append(state.step, state.time, state.velocities)
    start = time.perf_counter()
    with _Stop() as stop:
        while state.step < last and not stopping(state, stop.signal):
            state = md.step(state)
            done = state.step - first_step
            bar.update(done)
            if (dyn.thermo and state.step % dyn.thermo == 0) or state.step == last:
                report(state)
            if output.mesh and state.step % output.trajectory_every == 0:
                frame(state)
            if state.step % output.trajectory_every == 0:
                particles.append(state.step, state.time, state.velocities)
            if (output.checkpoint and output.checkpoint_every
                    and state.step % output.checkpoint_every == 0 and state.step < last):
                checkpoint(state)
        bar.close()
        wall = time.perf_counter() - start
        if output.mesh and frames:
            _write_mesh(output.mesh, serial, frames)
        particles.close()
        if csv is not None:
            csv.close()
        if output.checkpoint:
            written = checkpoint(state)
            print(f"checkpoint {written} at step {state.step}"
                  + (f" ({ranks} parts)" if ranks > 1 else ""), file=out)
        stopped = stop.signal is not None if ranks == 1 else \
            global_max(comm, 1.0 if stop.signal else 0.0) > 0
        if stopped:
            report(state)
            print(f"stopped by {stop.signal.name if stop.signal else 'SIGTERM'} at step "
                  f"{state.step}" + ("" if output.checkpoint else
                                     " (no [output] checkpoint in the case)"),
                  file=out, flush=True)
            return STOP_STATUS[stop.signal] if stop.signal else 143
    done = state.step - first_step
    print(f"Loop time {wall:.3f} s for {done} steps of {nn} nodes"
          + (f" on {ranks} ranks" if ranks > 1 else ""), file=out)
    return 0
