#!/usr/bin/env bash
# Mutation testing of the modules below with mutmut (pip install -e ".[dev]"), each against
# the fast tests that cover it; writes the score per module and the surviving mutants to
# docs/testing.md (the block between its mutation markers). Not part of the default run.
#
#   scripts/mutation.sh                    # every module, one at a time
#   scripts/mutation.sh diffusion_analytic # one module (the key of MODULES below)
#
# Each module runs in a copy of the working tree (tracked and untracked, not ignored files)
# under $MUTATION_DIR (default /tmp/qc-sim-mutation/KEY), never in the checkout: mutmut
# writes its mutants/ folder there. JOBS (default 2) mutants at once, at nice 15.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BASE="${MUTATION_DIR:-/tmp/qc-sim-mutation}"
JOBS="${JOBS:-2}"

# key | module | the tests it runs against (pytest node ids or files): fast ones that cover it
T=tests
MODULES=(
  "bulk|qc_sim/properties/bulk.py|$T/test_properties.py::test_lj_fcc_bulk_properties_are_the_lattice_sums \
$T/test_properties.py::test_a_potential_without_a_stable_lattice_is_refused \
$T/test_properties.py::test_bulk_defaults_and_an_unknown_lattice $T/test_mutation_bulk.py"
  "atomistic_dynamics|qc_sim/atomistic/dynamics.py|$T/test_dynamics.py::test_nve_is_time_reversible \
$T/test_dynamics.py::test_nve_energy_error_is_second_order_in_the_step $T/test_dynamics.py::test_fixed_atoms_do_not_move \
$T/test_dynamics.py::test_a_run_leaves_the_callers_atoms_alone $T/test_dynamics.py::test_fused_integrator_kernels_give_the_numpy_bits \
$T/test_dynamics.py::test_langevin_noise_depends_only_on_seed_step_and_id $T/test_dynamics.py::test_a_langevin_step_is_baoab \
$T/test_dynamics.py::test_run_reports_on_its_thermo_steps_and_a_frictionless_langevin_step_is_verlet"
  "coupling_dynamics|qc_sim/coupling/dynamics.py|$T/test_coupling.py::test_coupled_nve_energy_error_is_second_order_in_the_step \
$T/test_coupling.py::test_the_handshake_damping_band_takes_energy_out"
  "cauchy_born|qc_sim/continuum/cauchy_born.py|$T/test_continuum.py::test_cauchy_born_energy_density_is_the_strained_crystal_energy \
$T/test_continuum.py::test_cauchy_born_kernel_equals_the_numpy_path $T/test_continuum.py::test_cauchy_born_kernel_in_2d \
$T/test_continuum.py::test_cauchy_born_moduli_for_lennard_jones $T/test_continuum.py::test_cauchy_born_stress_is_the_energy_derivative \
$T/test_continuum.py::test_cauchy_born_moduli_equal_the_atomistic_elastic_constants \
$T/test_continuum.py::test_taylor_expansion_evaluates_batches_about_the_identity_by_default \
$T/test_continuum.py::test_bcc_and_triangular_are_bravais_a_two_site_basis_is_not \
$T/test_far_field.py::test_taylor_expansion_is_second_order_in_the_strain \
$T/test_far_field.py::test_the_stretch_check_still_refuses_a_crushed_element \
$T/test_far_field.py::test_mixed_strain_criterion_is_the_largest_principal_strain \
$T/test_far_field.py::test_handing_elements_to_the_full_sum_updates_the_taylor_operator \
$T/test_far_field.py::test_relative_energy_is_the_energy_less_the_reference \
$T/test_mutation_cauchy_born.py"
  "pair|qc_sim/potentials/pair.py|$T/test_potentials.py::test_pair_potentials_match_their_formulas \
$T/test_potentials.py::test_agrees_with_lammps $T/test_potentials.py::test_weighted_site_energies_and_their_forces \
$T/test_potentials.py::test_half_rows_give_the_bits_of_full_rows $T/test_potentials.py::test_compiled_and_numpy_backends_agree \
$T/test_potentials.py::test_virial_is_minus_the_strain_derivative $T/test_potentials.py::test_pair_tables_must_be_symmetric \
$T/test_continuum.py::test_cauchy_born_moduli_for_lennard_jones $T/test_continuum.py::test_cauchy_born_kernel_in_2d \
$T/test_ase.py::test_pair_spec_and_open_boundaries $T/test_properties.py::test_lj_fcc_bulk_properties_are_the_lattice_sums"
  "diffusion_analytic|qc_sim/regions/diffusion_analytic.py|$T/test_diffusion.py"
)

wanted=("$@")
for entry in "${MODULES[@]}"; do
  IFS='|' read -r key module tests <<<"$entry"
  if [ ${#wanted[@]} -gt 0 ] && [[ ! " ${wanted[*]} " == *" $key "* ]]; then
    continue
  fi
  work="$BASE/$key"
  rm -rf "$work"
  mkdir -p "$work"
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
     | xargs -0 cp --parents -t "$work" 2>/dev/null || true)
  # the kernels ship as qc_sim._kernels (the top-level kernels/ folder, mapped by the
  # install); mutmut imports qc_sim from its mutants/ copy, so the copy carries them itself
  cp -r "$work/kernels" "$work/qc_sim/_kernels"
  touch "$work/qc_sim/_kernels/__init__.py"
  selection=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1].split()))' "$tests")
  cat >> "$work/pyproject.toml" <<TOML

[tool.mutmut]
source_paths = ["qc_sim"]
only_mutate = ["$module"]
pytest_add_cli_args_test_selection = $selection
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]
TOML
  echo "== $key: $module against $selection"
  start=$(date +%s)
  # one OpenMP thread: mutmut forks each mutant's test process from one that already ran
  # the compiled kernels, and a forked OpenMP thread pool would hang
  (cd "$work" && OMP_NUM_THREADS=1 nice -n 15 mutmut run --max-children "$JOBS" \
     >"$work/run.log" 2>&1) || true
  (cd "$work" && mutmut export-cicd-stats >/dev/null && mutmut results --all true >"$work/results.txt")
  echo "$(( $(date +%s) - start ))" >"$work/seconds"
  python3 "$ROOT/scripts/mutation_report.py" "$ROOT/docs/testing.md" "$key" "$module" \
    "$work" "$selection"
done
