"""The problems the host solves: the equation registry, forcing, initial conditions."""
