"""The picture of a tendon run: the J-shaped stress-strain curve (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

PUBLISHED_MODULUS = (583.0, 122.0)  # MPa, mean and SD (see j_curve)
PUBLISHED_CRIMP = (15.1 - 2.3, 15.1 + 2.3)  # degrees, mean -+ SD (see j_curve)


def j_curve(region, folder) -> Path:
    """``folder``/tendon_j_curve.png: the 1D law as a line, the FE specimen's (strain,
    nominal stress) points on it, the toe region shaded up to the transition strain (every
    fibril straight) with the linear region's slope, and below it the recruited fraction."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = np.array(region.history, float)
    strain_fe, stress_fe, recruited_fe = history[:, 1], history[:, 2], history[:, 4]
    law = region.law
    transition = law.material.law.transition_stretch - 1.0
    top = max(float(strain_fe.max()), 1.25 * transition, 1e-3)
    strain = np.linspace(0.0, top, 400)
    modulus = law.linear_modulus()

    fig, (ax, low) = plt.subplots(2, 1, figsize=(6.4, 6.4), sharex=True,
                                  gridspec_kw={"height_ratios": (3, 1)})
    ax.axvspan(0.0, 100 * transition, color="0.92", label="toe (fibrils being recruited)")
    ax.plot(100 * strain, law.stress(1.0 + strain), color="k", lw=1.5, label="1D law")
    ax.plot(100 * strain_fe, stress_fe, "o", ms=5, mfc="none", mec="C3",
            label=f"FE specimen ({len(region.mesh.elements)} tetrahedra, {region.grips})")
    ax.axvline(100 * transition, color="C0", ls="--", lw=1)
    star = float(law.stress(1.0 + transition))
    line = star + modulus * (strain - transition)
    keep = line >= 0
    ax.plot(100 * strain[keep], line[keep], color="C0", lw=0.8, ls=":",
            label=f"linear region, slope {modulus:.0f} MPa")
    # the linear modulus of human patellar tendon fascicles, posterior region, mean +- SD:
    # Haraldsson et al., J. Appl. Physiol. 98 (2005) 1006
    lo_slope, hi_slope = PUBLISHED_MODULUS[0] - PUBLISHED_MODULUS[1], sum(PUBLISHED_MODULUS)
    ahead = strain >= transition
    ax.fill_between(100 * strain[ahead], star + lo_slope * (strain[ahead] - transition),
                    star + hi_slope * (strain[ahead] - transition), color="C2", alpha=0.15,
                    lw=0, label="published slope: 583 ± 122 MPa\n(human patellar tendon "
                    "fascicles,\nHaraldsson et al. 2005)")
    # the toe's end implied by the outer crimp angle 15.1 +- 2.3 degrees that Shearer, Thorpe
    # & Screen (J. R. Soc. Interface 14 (2017) 20170261) fitted to equine CDET data
    band = [100 * (1 / np.cos(np.radians(t)) - 1) for t in PUBLISHED_CRIMP]
    y = 0.04 * max(float(stress_fe.max()), star)
    ax.errorbar(0.5 * sum(band), y, xerr=0.5 * (band[1] - band[0]), fmt="none", ecolor="C2",
                capsize=4, label="published toe end: crimp 15.1 ± 2.3°\n(Shearer et al. "
                "2017, equine CDET)")
    ax.annotate(f"transition\n{100 * transition:.2f} %", (100 * transition, star),
                xytext=(8, -30), textcoords="offset points", color="C0")
    ax.set_ylabel("nominal stress (MPa)")
    ax.set_title("Tendon in uniaxial tension: fibril recruitment")
    ax.legend(loc="upper left", fontsize=8)
    low.plot(100 * strain, law.material.law.recruited_fraction(1.0 + strain), color="k", lw=1)
    low.plot(100 * strain_fe, recruited_fe, "o", ms=4, mfc="none", mec="C3")
    low.axvline(100 * transition, color="C0", ls="--", lw=1)
    low.set_ylabel("recruited")
    low.set_xlabel("strain (%)")
    low.set_ylim(-0.05, 1.05)
    fig.tight_layout()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tendon_j_curve.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
