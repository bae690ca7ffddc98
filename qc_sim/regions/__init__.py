"""Region physics beyond mechanics, on the one region interface of :mod:`qc_sim.regions.base`
(DESIGN section 7): bone remodelling, diffusion-reaction, homogenisation."""
