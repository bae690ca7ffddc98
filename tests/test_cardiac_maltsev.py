"""The Maltsev–Lakatta (2009) SAN pacemaker cell (qc_sim/regions/cardiac_maltsev.py)."""

import numpy as np

from qc_sim.regions.cardiac_maltsev import MaltsevLakatta2009, pacemaker_features, run


def test_spontaneous_cycle_length_first_beat():
    # Maltsev & Lakatta 2009: basal cycle length 333 ms; the CellML steady-state start is
    # late diastole, the first upstroke ~119 ms later.
    model = MaltsevLakatta2009()
    y = model.initial_state(1)
    trace = run(model, y, 480.0, 0.1)
    features = pacemaker_features(trace, beats=1)
    assert abs(features["cycle_length_ms"] - 333.0) < 3.0
