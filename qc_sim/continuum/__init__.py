"""The continuum region: Cauchy-Born and linear-elastic materials on P1 simplex meshes
(DESIGN section 4)."""
