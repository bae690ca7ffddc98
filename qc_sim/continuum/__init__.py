"""The continuum region: Cauchy-Born and linear-elastic materials on P1 simplex meshes
(docs/design.md section 5)."""
