"""The simulated Lucid stack (``lucid-sim``): demos, tests and fire drills for lucid-exporter."""
