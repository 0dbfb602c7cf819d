"""lucid-exporter: the Lucid troubleshooting guide, run continuously as Prometheus metrics."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lucid-exporter")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"
