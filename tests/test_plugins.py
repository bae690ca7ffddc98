"""The plug-in registry of region physics (qc_sim.cases.plugins): a physics written as one
module, registered by one line, is parsed, checked, run, checkpointed and restarted by the
same code as bone and diffusion. The test's physics is first-order decay, y' = -k y, stepped
exactly, so its figures have a closed form."""

from __future__ import annotations

import math
import sys
import types
from dataclasses import dataclass

import numpy as np
import pytest

from qc_sim.cases import plugins
from qc_sim.cli.main import main
from qc_sim.io.checkpoint import read_checkpoint


@dataclass(frozen=True)
class Spec:
    rate: float = 0.5
    y0: float = 2.0
    scheme: str = "exact"


class Decay:
    physics = "decay"

    def __init__(self, spec):
        self.k, self.y, self.t = spec.rate, spec.y0, 0.0

    def advance(self, dt):
        self.y *= math.exp(-self.k * dt)
        self.t += dt

    def stable_time_step(self):
        return math.inf

    def exports(self):
        return {"y": self.y}

    def imports(self, fields):
        pass

    def state_fields(self):
        return {"y": np.array([self.y]), "time": np.array([self.t])}

    def load_state_fields(self, fields):
        self.y, self.t = float(fields["y"][0]), float(fields["time"][0])

    def entity_costs(self):
        return np.ones(1)

    def entity_positions(self):
        return np.zeros((1, 3))

    def thermo(self):
        return {"time": self.t, "y": self.y}

    def picture(self, folder):
        from pathlib import Path

        path = Path(folder) / "decay.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{self.y!r}\n")
        return path


def _check(spec, case_dir):
    problems = []
    if not spec.rate > 0:
        problems.append(("rate", f"must be positive, got {spec.rate}"))
    return problems


@pytest.fixture
def decay(monkeypatch):
    module = types.ModuleType("qc_sim_test_decay")
    module.Spec, module.KEY_DOCS = Spec, {"rate": "k, 1/s", "y0": "y(0)", "scheme": "how"}
    module.CHOICES, module.UNIT = {"scheme": ("exact",)}, "s"
    module.check = _check
    module.build = lambda spec, case_dir, backend=None: Decay(spec)
    monkeypatch.setitem(sys.modules, "qc_sim_test_decay", module)
    monkeypatch.setitem(plugins.PLUGINS, "decay", "qc_sim_test_decay")
    from qc_sim.cases import schema

    monkeypatch.setitem(schema.CHOICES, "region.physics",
                        schema.CHOICES["region.physics"] + ("decay",))
    return module


CASE = """[region]
physics = "decay"
end_time = 4.0
dt = 0.5

[decay]
rate = {rate}

[output]
checkpoint = "ck.h5"
png = "pictures"
"""


def test_a_plugin_physics_runs_checkpoints_and_restarts_bitwise(decay, tmp_path, capsys,
                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "case.toml").write_text(CASE.format(rate=0.5))
    assert main(["run", "case.toml", "--backend", "cpu"]) == 0
    whole = read_checkpoint(tmp_path / "ck.h5")
    assert whole.step == 8
    assert whole.fields["y"][0] == pytest.approx(2.0 * math.exp(-0.5 * 4.0), rel=1e-14)
    assert (tmp_path / "pictures" / "decay.txt").read_text().strip() == repr(float(whole.fields["y"][0]))
    (tmp_path / "ck.h5").unlink()
    assert main(["run", "case.toml", "--steps", "3", "--backend", "cpu"]) == 0
    assert main(["restart", "ck.h5", "--backend", "cpu"]) == 0
    again = read_checkpoint(tmp_path / "ck.h5")
    assert again.step == 8 and again.fields["y"][0] == whole.fields["y"][0]
    assert "s" in capsys.readouterr().out


@pytest.mark.parametrize("text,key", [
    (CASE.format(rate=-1.0), "[decay.rate] must be positive"),
    (CASE.format(rate=0.5) + '\n[decay2]\n', "unknown key 'decay2'"),
    (CASE.format(rate=0.5).replace("rate = 0.5", 'rate = 0.5\nscheme = "euler"'),
     "[decay.scheme] 'euler' is not one of exact"),
    (CASE.format(rate=0.5).replace("rate = 0.5", "rat = 0.5"), "unknown key 'rat'"),
    (CASE.format(rate=0.5) + "\n[bone]\n", "takes no [bone] section"),
])
def test_a_plugin_physics_bad_values_end_with_one_line(decay, tmp_path, capsys, text, key):
    (tmp_path / "case.toml").write_text(text)
    assert main(["run", str(tmp_path / "case.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert key in err and len(err.splitlines()) == 1


def test_every_registered_plugin_offers_the_contract():
    for name, module in plugins.available().items():
        for attribute in ("Spec", "KEY_DOCS", "CHOICES", "UNIT", "check", "build"):
            assert hasattr(module, attribute), (name, attribute)
        spec = module.Spec()
        assert set(module.KEY_DOCS) == set(spec.__dataclass_fields__), name
        assert module.check(spec, None) == [], name
