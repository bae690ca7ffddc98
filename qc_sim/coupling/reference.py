"""Fully atomistic references of coupled problems: the same domain and boundary condition,
solved atom by atom, to measure a coupling's error against; and the defects they are
compared on that are more than removed sites (an edge dislocation dipole in the 2D
triangular lattice).

The coupled model holds its outer boundary at F X (or at a given displaced configuration);
the reference holds every atom outside the open domain box (a shell two cutoffs thick around
it) at the same place, so that atoms inside see the same clamped far field.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.geometry import build_crystal


def clamped_crystal(lattice, lo, hi, shell: float, species: str, vacancies=None):
    """(atoms, fixed mask): the lattice in [lo - shell, hi + shell], atoms outside the open
    box (lo, hi) fixed, ``vacancies`` removed. 2D lattices take lo, hi of length 2 (or 3,
    the third ignored); their atoms lie in z = 0."""
    d = lattice.dimension
    lo, hi = np.asarray(lo, float)[:d], np.asarray(hi, float)[:d]
    cell = np.diag(lattice.cell)[:d]
    pad = np.ceil(shell / cell).astype(int) + 1
    n = np.round((hi - lo) / cell).astype(int) + 2 * pad
    origin = np.zeros(3)
    origin[:d] = lo - pad * cell
    crystal = build_crystal(lattice, tuple(n) + (1,) * (3 - d), species=(species,),
                            masses=(1.0,), periodic=(False,) * 3, origin=tuple(origin))
    x = crystal.positions[:, :d]
    keep = np.all((x > lo - shell - 1e-6) & (x < hi + shell + 1e-6), axis=1)
    for v in np.atleast_2d(vacancies) if vacancies is not None and len(vacancies) else []:
        here = np.linalg.norm(x - np.asarray(v, float)[:d], axis=1) <= 1e-6
        if not here.any():
            raise ValueError(f"the vacancy at {np.round(v, 6).tolist()} Å is on no lattice site")
        keep &= ~here
    atoms = crystal.select(keep)
    x = atoms.positions[:, :d]
    inside = np.all((x > lo + 1e-6) & (x < hi - 1e-6), axis=1)
    return atoms, ~inside


def atomistic_reference(lattice, lo, hi, potential, species, device, vacancies=None,
                        minimiser=None, fmax=1e-4, displacement=None, max_steps=50_000):
    """The relaxed clamped crystal: (system, MinimizeResult). ``displacement``, a function
    of reference positions (n, d) Å returning (n, d) Å, moves every atom (the clamped shell
    included) before the relaxation; ``system.atoms.positions`` stay the reference sites."""
    from qc_sim.solvers import fire

    atoms, fixed = clamped_crystal(lattice, lo, hi, 2 * potential.cutoff, species, vacancies)
    system = AtomisticSystem(atoms, potential, device, skin=0.5, fixed=fixed)
    if displacement is not None:
        d = lattice.dimension
        x = np.array(atoms.positions, float)
        x[:, :d] += displacement(x[:, :d])
        system.set_positions(x)
    result = (minimiser or fire)(system, fmax=fmax, max_steps=max_steps)
    return system, result


def plane_strain_poisson(material) -> float:
    """The nu of the plane-strain formulas for a 2D material (a CauchyBorn of a 2D lattice)
    at F = I: with its 2D Lame constants lambda = C_1122, mu = C_1212, the in-plane Navier
    equations are those of plane strain, so nu = lambda / (2 (lambda + mu)) (1/4 for the
    triangular lattice with pair forces, where the Cauchy relation gives lambda = mu).
    Raises if the moduli are not isotropic (C_1111 = lambda + 2 mu)."""
    A = material.tangent()
    lam, mu = A[0, 0, 1, 1], A[0, 1, 0, 1]
    if not np.isclose(A[0, 0, 0, 0], lam + 2 * mu, rtol=1e-6):
        raise ValueError("the material's moduli are not isotropic in the plane")
    return float(lam / (2 * (lam + mu)))


@dataclass(frozen=True)
class EdgeDipole:
    """Two edge dislocations along z in a 2D crystal, Burgers vectors +b x and -b x, with
    cores ``upper`` (+b) and ``lower`` (-b) (Å, (2,)) on glide planes y = const between two
    close-packed rows, in an isotropic medium of Poisson ratio ``poisson`` (plane strain).

    The displacement is the sum of the two isotropic edge fields (Hirth & Lothe, Theory of
    Dislocations, 2nd ed. 1982, ch. 3: the straight edge dislocation in plane strain),

        u_x = (b / 2 pi) [theta + x y / (2 (1 - nu) r^2)]
        u_y = -(b / 2 pi) [(1 - 2 nu) / (4 (1 - nu)) ln r^2 + (x^2 - y^2) / (4 (1 - nu) r^2)],

    with +b about ``upper`` and -b about ``lower``. The two angles enter only as
    theta_u - theta_l = arg((z - z_u) / (z - z_l)), whose branch cut is the straight segment
    joining the cores: the field is continuous everywhere else, so it decays as 1/r to a
    clamped boundary and no mesh element outside the cores sees a cut. (Cutting each
    dislocation to the boundary along its own glide plane instead would insert no material,
    but would leave the strip between the planes slipped by b out to the boundary: a jump
    no continuum element can carry.)

    Across the segment u_x jumps by b, and the segment is not parallel to b: each side moves
    b / 2 towards it (the field is +b/2 on the side to the left of lower -> upper), so the
    material in the band of width b about the segment, the parallelogram
    {lower + s (upper - lower) + t b x : 0 < s < 1, -1/2 <= t < 1/2}, would be there twice.
    Those sites are removed (:meth:`cut_sites`): one per close-packed row between the glide
    planes, area b h = n Omega_0 for planes n rows apart. This arrangement (+b above -b) is
    the vacancy-type dipole; the other sign would open a gap to be filled with interstitials.
    The dipole's energy is counted against a perfect crystal holding the same number of
    atoms, i.e. with n e_0 added back (as for a vacancy's formation energy).

    ``far_field`` (c_11, c_22, c_12) (Å^2) adds the leading correction of the relaxed
    crystal's far field to the linear elastic one (the core's nonlinear, atomistic response
    acts at a distance as a force dipole P = 8 pi mu (1 - nu) c; Ehrlacher, Ortner & Shapeev,
    Arch. Ration. Mech. Anal. 222 (2016) 1217; Braun, Hudson & Ortner, ARMA 245 (2022) 1437):
    u_i += sum_jk c_jk B^jk_i(X - X_0) with B^jk = -8 pi mu (1 - nu) d_k G_ij from the
    plane-strain Kelvin solution G_ij = [-(3 - 4 nu) delta_ij ln r + x_i x_j / r^2] /
    (8 pi mu (1 - nu)),

        B^jk_i = [(3 - 4 nu) delta_ij x_k - delta_ik x_j - delta_jk x_i] / r^2
                 + 2 x_i x_j x_k / r^4,

    about the dipole's midpoint X_0, faded in as r^4 / (r^4 + d^4) (d the core separation) so
    that it does not move the atoms of the cores. :func:`fit_far_field` measures c from an
    atomistic solution. Clamped at the linear field alone, a relaxed dipole's far field
    differs from the clamp by a few 1e-4 in strain at the boundary, a kink that a thick
    clamped shell of atoms and a row of held nodes store differently: in the dipole energy
    of scripts/validate_dipole.py, -2.5e-2 eV in a 67 Å box and -9.2e-3 eV in a 178 Å box
    (about 1 / L), whatever the core; with the fitted far field, +8e-4 eV in 178 Å.
    """

    upper: np.ndarray
    lower: np.ndarray
    burgers: float
    poisson: float
    far_field: tuple = (0.0, 0.0, 0.0)

    @property
    def cores(self) -> np.ndarray:
        """(2, 2) Å: the +b core, then the -b core."""
        return np.array([self.upper, self.lower], float)

    def displacement(self, X) -> np.ndarray:
        """(n, 2) Å: the dipole's elastic displacement at reference positions X (n, >= 2)."""
        X = np.atleast_2d(np.asarray(X, float))[:, :2]
        b, nu = self.burgers, self.poisson
        z = X[:, 0] + 1j * X[:, 1]
        zu, zl = complex(*self.upper), complex(*self.lower)
        u = (b / (2 * np.pi)) * np.angle((z - zu) / (z - zl))
        v = -(b / (2 * np.pi)) * (1 - 2 * nu) / (4 * (1 - nu)) * np.log(
            np.abs(z - zu) ** 2 / np.abs(z - zl) ** 2)
        for core, sign in ((self.upper, 1.0), (self.lower, -1.0)):
            x, y = X[:, 0] - core[0], X[:, 1] - core[1]
            r2 = x * x + y * y
            u += sign * (b / (2 * np.pi)) * x * y / (2 * (1 - nu) * r2)
            v -= sign * (b / (2 * np.pi)) * (x * x - y * y) / (4 * (1 - nu) * r2)
        return np.column_stack([u, v]) + np.tensordot(np.asarray(self.far_field, float),
                                                      self.force_dipole_fields(X), axes=1)

    def force_dipole_fields(self, X) -> np.ndarray:
        """(3, n, 2): the faded fields B^11, B^22 and (B^12 + B^21) / 2 at X (n, >= 2)."""
        X = np.atleast_2d(np.asarray(X, float))[:, :2]
        nu = self.poisson
        d = X - 0.5 * (self.upper + self.lower)
        r2 = (d * d).sum(axis=1)
        fade = r2 * r2 / (r2 * r2 + ((self.upper - self.lower) ** 2).sum() ** 2)
        eye = np.eye(2)

        def B(j, k):
            return (((3 - 4 * nu) * eye[j][None, :] * d[:, k:k + 1] - eye[k][None, :]
                     * d[:, j:j + 1] - (j == k) * d) / r2[:, None]
                    + 2 * d * (d[:, j] * d[:, k] / r2**2)[:, None])

        fields = [B(0, 0), B(1, 1), 0.5 * (B(0, 1) + B(1, 0))]
        return np.stack(fields) * fade[None, :, None]

    def cut_sites(self, sites, tol: float = 1e-3) -> np.ndarray:
        """(n,) bool: the sites (n, >= 2) in the band about the cut, which the field would
        put on top of their neighbours (see the class docstring). Raises if a site lies on
        the band's edge within ``tol`` b (the choice would be ambiguous)."""
        X = np.atleast_2d(np.asarray(sites, float))[:, :2]
        span = self.upper - self.lower
        s = (X[:, 1] - self.lower[1]) / span[1]
        t = (X[:, 0] - self.lower[0] - s * span[0]) / self.burgers
        between = (s > 0) & (s < 1)
        if np.any(between & (np.abs(np.abs(t) - 0.5) < tol)):
            raise ValueError("a site lies on the edge of the dipole's cut band: move the cores")
        return between & (t >= -0.5) & (t < 0.5)


def edge_dipole(lattice, near, rows: int, poisson: float, side: int = 1) -> EdgeDipole:
    """The vacancy-type edge dipole nearest to 45 degrees (b = a along x) in the 2D
    triangular ``lattice``: the -b core on the glide plane nearest below ``near`` (Å, (2,)),
    the +b core ``rows`` close-packed rows higher, as near h = rows a sqrt(3)/2 to the right
    (``side`` = 1) or left (-1) as the lattice allows.

    45 degrees is the stable arrangement of a dipole in isotropic elasticity: the glide force
    between edge dislocations of opposite sign, D b^2 x (x^2 - y^2) / r^4 towards each other
    along x (D = mu / (2 pi (1 - nu))), vanishes at x = 0 and at |x| = |y|, and only |x| = |y|
    pushes a displaced core back (Hirth & Lothe, the glide force between parallel edge
    dislocations). Each core is put where the relaxed core of a pair potential sits in its
    Peierls valley: above a site of the row on the side away from its extra half-plane (the
    row below for +b, above for -b), as measured by :func:`core_position`
    (tests/test_dipole.py checks that the cores stay there). In the lattice the Peierls
    barrier holds neighbouring separations too (scripts/validate_dipole.py: one valley
    closer stays; one valley farther glides in by a valley on each side)."""
    if lattice.name != "triangular":
        raise ValueError("edge_dipole builds dipoles in the 2D triangular lattice")
    a = lattice.a
    row = a * np.sqrt(3.0) / 2
    near = np.asarray(near, float)[:2]

    def site_x(k, x):  # the x of the site of row k nearest to x
        offset = 0.5 * a * (k % 2)
        return np.round((x - offset) / a) * a + offset

    k = int(np.floor(near[1] / row - 0.5))  # the -b plane lies between rows k and k + 1
    lower = np.array([site_x(k + 1, near[0]), (k + 0.5) * row])
    k_up = k + int(rows)  # the +b plane between rows k_up and k_up + 1
    upper = np.array([site_x(k_up, lower[0] + side * rows * row), (k_up + 0.5) * row])
    return EdgeDipole(upper, lower, a, float(poisson))


def fit_far_field(dipole: EdgeDipole, reference, current, r_min: float,
                  r_max: float) -> EdgeDipole:
    """``dipole`` with its far-field coefficients corrected by a least-squares fit of the
    atoms' displacement beyond ``dipole.displacement``, over the atoms r_min < |X - X_0| <
    r_max Å from the dipole's midpoint: three force-dipole fields plus a translation and a
    homogeneous strain and rotation (the response of a clamped box, which the fit must not
    put into the dipole). reference, current: (n, >= 2) Å positions of the same atoms. A
    fixed point of relax-and-fit (a few rounds) makes the clamp match the relaxed far field
    to the next order (see :class:`EdgeDipole`)."""
    X = np.asarray(reference, float)[:, :2]
    excess = np.asarray(current, float)[:, :2] - X - dipole.displacement(X)
    d = X - 0.5 * (dipole.upper + dipole.lower)
    ring = (np.hypot(d[:, 0], d[:, 1]) > r_min) & (np.hypot(d[:, 0], d[:, 1]) < r_max)
    fields = [f[ring] for f in dipole.force_dipole_fields(X)]
    for axis in range(2):  # translation, then the affine terms, of each component
        for column in (np.ones(ring.sum()), d[ring, 0], d[ring, 1]):
            f = np.zeros((ring.sum(), 2))
            f[:, axis] = column
            fields.append(f)
    A = np.stack([f.reshape(-1) for f in fields], axis=1)
    c = np.linalg.lstsq(A, excess[ring].reshape(-1), rcond=None)[0]
    return replace(dipole, far_field=tuple(float(v) for v in np.add(dipole.far_field, c[:3])))


def core_position(reference, current, plane_y: float, near_x: float, lattice,
                  window: float) -> tuple[float, float]:
    """(x (Å), slip step (Å)) of the edge core on the glide plane y = ``plane_y`` of the
    triangular ``lattice``, from the atoms within ``window`` Å of ``near_x``.

    Each of the two close-packed rows bordering the plane has a phase along x, the current
    x of its k-th atom (counted from the left) minus k a, interpolated between its atoms:
    counting atoms rather than following sites, it does not see the bookkeeping of a cut
    (removed sites, jumps of a in the displacement). The disregistry is the row above's
    phase minus the row below's, and the core is where it passes half way between its values
    at the two ends of the window. The step between those ends is +-b for one dislocation on
    the plane, ~0 for none (e.g. after an annihilation).
    reference, current: (n, >= 2) Å positions of the same atoms; the window and the rows are
    chosen on the reference positions."""
    a = lattice.a
    row = a * np.sqrt(3.0) / 2
    X = np.asarray(reference, float)[:, :2]
    x = np.asarray(current, float)[:, 0]
    near = np.abs(X[:, 0] - near_x) < window

    def phase(y):
        on = np.nonzero(near & (np.abs(X[:, 1] - y) < 0.1 * row))[0]
        along = np.sort(x[on])
        return along, along - a * np.arange(len(along))

    x_up, p_up = phase(plane_y + row / 2)
    x_down, p_down = phase(plane_y - row / 2)
    slip = p_up - np.interp(x_up, x_down, p_down)
    step = slip[-3:].mean() - slip[:3].mean()
    half = slip[:3].mean() + 0.5 * step
    side = np.sign(slip - half)
    crossings = np.nonzero(side[1:] != side[:-1])[0]
    if len(crossings) == 0:
        raise ValueError(f"no dislocation on the glide plane y = {plane_y:.3f} Å near "
                         f"x = {near_x:.3f} Å")
    k = crossings[np.argmin(np.abs(x_up[crossings] - near_x))]
    s0, s1 = slip[k], slip[k + 1]
    x = x_up[k] + (half - s0) / (s1 - s0) * (x_up[k + 1] - x_up[k])
    return float(x), float(step)
