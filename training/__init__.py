"""Training: reference solvers, forcing, reference fluxes; learned discretizations later."""
