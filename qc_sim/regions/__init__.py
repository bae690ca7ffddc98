"""Region physics beyond mechanics, on the one region interface of :mod:`qc_sim.regions.base`
(docs/design.md section 8): bone remodelling, diffusion-reaction, homogenisation."""
