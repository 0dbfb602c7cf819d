"""lucid-exporter: the Lucid troubleshooting guide, run continuously as Prometheus metrics."""

# The one place the version is written: pyproject.toml reads it from here (setuptools' attr:),
# so that a start does not import importlib.metadata (15 ms, an e-mail parser with it) to ask for it.
__version__ = "0.1.0"
