#!/usr/bin/env python
"""The weak- and strong-scaling model of qc-sim's domain-decomposed EAM dynamics
(docs/performance.md): time per step on P ranks from the measured traffic of one rank and
stated hardware figures. Prints one JSON object (inputs and both tables); with --markdown,
the tables as docs/performance.md shows them.

Per rank and step, with n = N / P atoms in a cube of side L = (n / rho)^(1/3) and a ghost
shell of reach r (a cutoff plus the skin; only the owned atoms have list rows, and EAM's
embedding derivative F'(rho) of the ghosts comes from their owners in a second halo):

    ghosts      g = rho ((L + 2 r)^3 - L^3)
    compute     t_c = n / R                         (owned rows only)
    exchange    t_x = 2 m alpha + b g / beta        (two halos: positions, then F'(rho); m
                                                     neighbour ranks, b bytes per ghost and step)
    staging     t_s = 4 (alpha_h + b g / (2 beta_h)) (GPU: both halos through host memory,
                                                     each both ways)
    decision    t_d = 2 alpha log2 P                (one allreduce of a max per step: the skin)

m = 26 while L > r, else (2 ceil(r / L) + 1)^3 - 1. b comes from a measured run
(scripts/bench_mpi.py: bytes per step over ghosts, re-exchanges included); R is qc-sim's
measured one-core CPU rate, or for a GPU the figure given with --gpu-rate (default: the 1.46e8
atom-steps/s measured on one H200 at 2.05 million atoms, scripts/results/bench_md_gpu_h200.json;
list builds included).

    python scripts/scaling_model.py [--markdown] [--gpu-rate 1.46e8]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# EAM Cu_u3 NVE on one H200, 2,048,000 atoms, float64, list builds included (2026-11-25)
GPU_RATE = 1.46e8

INPUTS = {
    "density_per_A3": 4 / 3.615**3,  # fcc Cu
    "reach_A": 4.95 + 1.0,  # Cu_u3.eam: cutoff 4.95 Å, skin 1 Å (bench/in.eam)
    # measured: scripts/bench_mpi.py, 2 ranks, 256,000 atoms of Cu_u3 at 1600 K, 20 steps:
    # 743 kB per step for 20.8k ghosts (positions 24 B + F'(rho) 8 B each, re-exchanges
    # amortised), 2.2 messages per step to the one neighbour rank
    "bytes_per_ghost_per_step": 35.8,
    "cpu_atom_steps_per_s_per_core": 1.11e6,  # scripts/results/bench_mpi_cpu_2core_epyc.json, 1 rank
    "latency_s": 2e-6,  # MPI point-to-point over InfiniBand (vendor figures: 1-2 us)
    "bandwidth_B_per_s": 25e9,  # per rank: InfiniBand NDR 400 Gb/s = 50 GB/s per port,
                                # taken as shared by two GPUs
    "host_latency_s": 1e-5,  # one device-host copy
    "host_bandwidth_B_per_s": 25e9,  # PCIe Gen4 x16, effective
}


def step_time(n: float, P: int, rate: float, gpu: bool, p=INPUTS) -> dict:
    rho, r = p["density_per_A3"], p["reach_A"]
    L = (n / rho) ** (1 / 3)
    g = rho * ((L + 2 * r) ** 3 - L**3) if P > 1 else 0.0
    m = 0 if P == 1 else (26 if L > r else (2 * math.ceil(r / L) + 1) ** 3 - 1)
    b = p["bytes_per_ghost_per_step"] * g
    terms = {"compute": n / rate,
             "exchange": 2 * m * p["latency_s"] + b / p["bandwidth_B_per_s"],
             "staging": (4 * (p["host_latency_s"] + 0.5 * b / p["host_bandwidth_B_per_s"])
                         if gpu and P > 1 else 0.0),
             "decision": 2 * p["latency_s"] * math.log2(P) if P > 1 else 0.0}
    total = sum(terms.values())
    return {"ranks": P, "atoms_per_rank": n, "ghosts_per_rank": g, "neighbour_ranks": m,
            "bytes_per_step": b, **{f"{k}_s": v for k, v in terms.items()},
            "step_s": total, "dominant": max(terms, key=terms.get),
            "ghosts_per_atom": g / n,
            "communication_fraction": (total - terms["compute"]) / total}


def tables(gpu_rate: float) -> dict:
    cpu = INPUTS["cpu_atom_steps_per_s_per_core"]
    out = {}
    for device, rate in (("gpu", gpu_rate), ("cpu_core", cpu)):
        gpu = device == "gpu"
        weak_n = 1e6 if gpu else 2e4
        base = step_time(weak_n, 1, rate, gpu)["step_s"]
        weak = []
        for P in (1, 8, 64, 512, 1000):
            row = step_time(weak_n, P, rate, gpu)
            row["efficiency"] = base / row["step_s"]
            weak.append(row)
        strong = {}
        for N in ((1e7, 1e9) if gpu else (1e7,)):
            serial = step_time(N, 1, rate, gpu)["step_s"]
            rows = []
            for P in (1, 8, 64, 512, 1000):
                row = step_time(N / P, P, rate, gpu)
                row["efficiency"] = serial / (P * row["step_s"])
                rows.append(row)
            strong[f"{N:.0e}"] = rows
        out[device] = {"atom_steps_per_s_per_rank": rate, "weak_atoms_per_rank": weak_n,
                       "weak": weak, "strong": strong}
    return out


def markdown(result: dict) -> str:
    lines = []
    for device, data in result["tables"].items():
        rate = data["atom_steps_per_s_per_rank"]
        label = ("GPU per rank, " if device == "gpu" else "CPU core per rank, measured ")
        lines.append(f"**{label}{rate:.2g} atom-steps/s.** Weak scaling, "
                     f"{data['weak_atoms_per_rank']:.0e} atoms per rank:")
        lines += ["", "| ranks | atoms | ghosts/rank | compute | exchange | staging | decision "
                  "| ghosts/atom | communication | efficiency |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in data["weak"]:
            lines.append(_row(r, r["ranks"] * r["atoms_per_rank"]))
        for N, rows in data["strong"].items():
            lines += ["", f"Strong scaling, {float(N):.0e} atoms:", "",
                      "| ranks | atoms | ghosts/rank | compute | exchange | staging | decision "
                      "| ghosts/atom | communication | efficiency |",
                      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
            lines += [_row(r, float(N)) for r in rows]
        lines.append("")
    return "\n".join(lines)


def _row(r, atoms) -> str:
    ms = lambda s: f"{s * 1e3:.3g} ms"  # noqa: E731
    return (f"| {r['ranks']} | {atoms:.0e} | {r['ghosts_per_rank']:.3g} | {ms(r['compute_s'])} | "
            f"{ms(r['exchange_s'])} | {ms(r['staging_s'])} | {ms(r['decision_s'])} | "
            f"{r['ghosts_per_atom']:.2f} | {r['communication_fraction']:.0%} | "
            f"{r['efficiency']:.2f} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gpu-rate", type=float, default=GPU_RATE,
                   help="EAM atom-steps/s of one GPU (default: measured on an H200)")
    p.add_argument("--markdown", action="store_true")
    args = p.parse_args(argv)
    result = {"model": "qc-sim domain-decomposed EAM dynamics", "inputs": INPUTS,
              "gpu_rate_is": ("measured: one H200, 2.05e6 atoms, scripts/results/"
                              "bench_md_gpu_h200.json" if args.gpu_rate == GPU_RATE
                              else "given with --gpu-rate"),
              "tables": tables(args.gpu_rate)}
    print(markdown(result) if args.markdown else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
