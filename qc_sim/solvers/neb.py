"""The nudged elastic band with the improved tangent and a climbing image (Henkelman &
Jónsson, J. Chem. Phys. 113 (2000) 9978; Henkelman, Uberuaga & Jónsson, ibid. 9901).

A :class:`Band` holds images, each a :class:`~qc_sim.solvers.protocol.Minimizable` (the end
points fixed), and is itself one: its degrees of freedom are those of the inner images, its
forces the NEB forces, so FIRE drives it as it drives atoms. For image i with tangent tau:
``F_i = F_perp + k (|R_{i+1} - R_i| - |R_i - R_{i-1}|) tau``, and the climbing image (the
highest, once ``climb`` is on) feels ``F - 2 (F . tau) tau`` and no spring. Convergence is
on the largest NEB force over all images. The inner images are evaluated together by
``evaluate_batch`` when one is given (for atomistic images
:func:`qc_sim.atomistic.replicas.batch_energy_forces`, one kernel launch for all of them),
else one after another.

:func:`run_neb` relaxes a band in one call; :func:`relax_band` is the same FIRE, step for
step, with its whole state in a :class:`BandState` that a checkpoint can hold, resumed bit
for bit, with a delayed climbing image and per-dof masses (the coupled band's heavy coarse
nodes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qc_sim.solvers.fire import Fire, fire, fire_step


def improved_tangent(e_prev, e, e_next, t_plus, t_minus, xp=np):
    """Henkelman & Jónsson's tangent at an image (unit vector)."""
    if e_next > e > e_prev:
        tau = t_plus
    elif e_next < e < e_prev:
        tau = t_minus
    else:
        big = max(abs(e_next - e), abs(e_prev - e))
        small = min(abs(e_next - e), abs(e_prev - e))
        tau = t_plus * big + t_minus * small if e_next > e_prev else t_plus * small + t_minus * big
    return tau / float(xp.sqrt(xp.vdot(tau, tau)))


def neb_forces(energies, r, forces, k: float, climb: bool, xp=np):
    """The NEB forces of the inner images, concatenated: ``energies`` (n_images,) eV and
    ``r`` the degrees of freedom of every image (end points included), ``forces`` the true
    forces of the inner images, ``k`` the spring constant (eV/Å^2); with ``climb`` the highest
    inner image climbs."""
    top = int(np.argmax(energies[1:-1])) + 1
    out = []
    for i, f in enumerate(forces, start=1):
        t_plus, t_minus = r[i + 1] - r[i], r[i] - r[i - 1]
        tau = improved_tangent(energies[i - 1], energies[i], energies[i + 1], t_plus, t_minus,
                               xp)
        f_par = float(xp.vdot(f, tau))
        if climb and i == top:
            out.append(f - 2.0 * f_par * tau)
            continue
        stretch = float(xp.sqrt(xp.vdot(t_plus, t_plus)) - xp.sqrt(xp.vdot(t_minus, t_minus)))
        out.append(f - f_par * tau + k * stretch * tau)
    return xp.concatenate(out)


class Band:
    """Images ``images[0..n-1]`` (end points first and last), spring constant ``k`` (eV/Å^2)."""

    def __init__(self, images, k: float = 0.1, climb: bool = True, evaluate_batch=None):
        if len(images) < 3:
            raise ValueError(f"a band needs at least one inner image, got {len(images)} images")
        self.images = list(images)
        self.k = float(k)
        self.climb = climb
        self.xp = images[0].xp
        self.evaluate_batch = evaluate_batch
        self.evaluations = 0
        self.energies = np.zeros(len(images))
        for end in (0, -1):
            self.energies[end] = images[end].energy_forces()[0]
        self._sizes = [int(im.get_dofs().size) for im in self.images[1:-1]]

    def get_dofs(self):
        return self.xp.concatenate([im.get_dofs() for im in self.images[1:-1]])

    def set_dofs(self, y) -> None:
        start = 0
        for im, size in zip(self.images[1:-1], self._sizes):
            im.set_dofs(y[start:start + size])
            start += size

    def evaluate(self):
        """Energies and true forces of the inner images, [(energy, forces)]."""
        inner = self.images[1:-1]
        if self.evaluate_batch is not None:
            out = self.evaluate_batch(inner)
        else:
            out = [im.energy_forces() for im in inner]
        self.evaluations += len(out)
        return out

    def energy_forces(self):
        inner = self.evaluate()
        for i, (e, _) in enumerate(inner, start=1):
            self.energies[i] = e
        forces = neb_forces(self.energies, self.image_dofs(), [f for _, f in inner], self.k,
                            self.climb, self.xp)
        return float(self.energies[1:-1].max()), forces

    def image_dofs(self):
        """The degrees of freedom of every image, end points included."""
        return [im.get_dofs() for im in self.images]

    def max_force(self, forces) -> float:
        return max(im.max_force(f) for im, f in zip(self.images[1:-1], self._split(forces)))

    def _split(self, y):
        out, start = [], 0
        for size in self._sizes:
            out.append(y[start:start + size])
            start += size
        return out


def interpolate(initial, final, n_inner: int, xp=np):
    """``n_inner`` configurations evenly between ``initial`` and ``final`` (linear)."""
    return [initial + (final - initial) * (k / (n_inner + 1)) for k in range(1, n_inner + 1)]


@dataclass(frozen=True)
class NebResult:
    """Energies along the band (eV, relative to the first image), the barrier (eV), the
    reaction coordinate (cumulative image distance, Å), and the minimiser's account."""

    energies: np.ndarray
    coordinate: np.ndarray
    barrier: float
    converged: bool
    steps: int
    force_evaluations: int
    message: str


BAND_FIRE = Fire(n_delay=20)  # FIRE 2.0 with its initial delay (Guénolé et al. 2020)


def run_neb(band: Band, fmax: float = 0.01, max_steps: int = 2000, params: Fire = BAND_FIRE,
            on_step=None) -> NebResult:
    """Relax ``band`` with FIRE until its largest NEB force is at most ``fmax`` eV/Å."""
    result = fire(band, fmax=fmax, max_steps=max_steps, params=params, on_step=on_step)
    energies, coordinate = _profile(band)
    return NebResult(energies, coordinate, float(energies.max()), result.converged,
                     result.steps, band.evaluations,
                     result.message.replace("FIRE", "NEB (FIRE)"))


def _profile(band: Band):
    """(energies relative to the first image, eV; cumulative image distance, Å) of ``band``
    as it stands."""
    xp = band.xp
    r = band.image_dofs()
    gaps = [float(xp.sqrt(xp.vdot(b - a, b - a))) for a, b in zip(r[:-1], r[1:])]
    return band.energies - band.energies[0], np.concatenate([[0.0], np.cumsum(gaps)])


# -- the band, restartable: FIRE's whole state kept, for checkpoints --------------------


@dataclass
class BandState:
    """FIRE's state over a band: the inner images' degrees of freedom ``y``, velocity ``v``,
    time step, mixing, the downhill count and the iteration: all a checkpoint needs."""

    y: np.ndarray
    v: np.ndarray
    dt: float
    alpha: float
    downhill: int
    iteration: int
    climbing: bool = True

    def to_arrays(self, prefix: str = "") -> dict:
        return {prefix + "y": self.y, prefix + "v": self.v,
                prefix + "scalars": np.array([self.dt, self.alpha, self.downhill,
                                              self.iteration, self.climbing], float)}

    @classmethod
    def from_arrays(cls, arrays, prefix: str = "") -> "BandState":
        dt, alpha, downhill, iteration, climbing = arrays[prefix + "scalars"]
        return cls(np.array(arrays[prefix + "y"]), np.array(arrays[prefix + "v"]), float(dt),
                   float(alpha), int(downhill), int(iteration), bool(climbing))


@dataclass(frozen=True)
class BandResult:
    energies: np.ndarray  # (n_images,) eV relative to the first
    coordinate: np.ndarray  # (n_images,) Å, cumulative image distance
    barrier: float
    converged: bool
    iterations: int
    evaluations: int
    saddle: int  # index of the highest image


def relax_band(band: Band, fmax: float, max_iterations: int, state: BandState | None = None,
               params: Fire = BAND_FIRE, progress=None, checkpoint=None,
               every: int = 50, climb_at: float | None = None, climb_min: float = 0.05,
               blow_up: float = 50.0, inv_mass=None) -> tuple[BandResult, BandState]:
    """FIRE on ``band`` until its largest NEB force is at most ``fmax`` eV/Å, step for step
    the arithmetic of :func:`qc_sim.solvers.fire.fire` (so :func:`run_neb` and this agree
    to the bit), resumable from ``state``. ``progress(iteration, max_force, energies)`` is
    told each iteration; ``checkpoint(state)`` every ``every`` iterations and at the end.
    ``climb_at``: the highest image climbs only once the band's largest force is below it
    (a climbing image switched on far from the ridge can run up a wall: its tangent points
    from its neighbour to itself, and it has no spring); None: as the band says. A band
    whose highest image is less than ``climb_min`` eV above the first when climbing is due
    (a barrier nearly gone, whose ridge the climbing image cannot find) stays a plain NEB;
    one whose highest image passes ``blow_up`` eV stops, not converged. ``inv_mass``: FIRE's
    per-degree-of-freedom inverse masses over the band's dofs (:func:`fire_step`); the
    convergence test (and the climbing switch) then reads the largest of ``f * inv_mass``,
    a coarse node's force per atom it stands for (its force is the sum over the region its
    element stiffness spans, so the atoms' criterion would hold it m times tighter)."""
    xp = band.xp
    if state is None:
        y = band.get_dofs()
        state = BandState(y, xp.zeros_like(y), params.dt, params.alpha_start, 0, 0,
                          band.climb and climb_at is None)
    else:
        band.set_dofs(state.y)
    y, v = state.y, state.v
    dt, alpha, downhill = state.dt, state.alpha, state.downhill
    climbing = state.climbing
    band.climb = climbing
    energy, f = band.energy_forces()
    converged = False
    step = state.iteration

    def largest(f):
        return band.max_force(f if inv_mass is None else f * inv_mass)

    while True:
        fm = largest(f)
        if not climbing and climb_at is not None and fm <= climb_at:
            if band.energies[1:-1].max() - band.energies[0] < climb_min:
                climb_at = None  # a plain NEB from here on
            else:
                climbing = band.climb = True
                energy, f = band.energy_forces()
                fm = largest(f)
        if band.energies[1:-1].max() - band.energies[0] > blow_up:
            break
        if progress is not None:
            progress(step, fm, band.energies - band.energies[0])
        if fm <= fmax and (climbing or climb_at is None):
            converged = True
            break
        if step >= max_iterations:
            break
        y, v, dt, alpha, downhill = fire_step(band, y, v, f, dt, alpha, downhill, step, params,
                                              inv_mass)
        band.set_dofs(y)
        energy, f = band.energy_forces()
        step += 1
        if checkpoint is not None and step % every == 0:
            checkpoint(BandState(y, v, dt, alpha, downhill, step, climbing))
    final = BandState(y, v, dt, alpha, downhill, step, climbing)
    if checkpoint is not None:
        checkpoint(final)
    energies, coordinate = _profile(band)
    return BandResult(energies, coordinate, float(energies.max()), converged, step,
                      band.evaluations, int(np.argmax(energies))), final
