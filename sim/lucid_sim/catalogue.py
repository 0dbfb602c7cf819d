"""What the sim takes from the exporter: its service catalogue (names, clusters, containers,
ports, health paths), so that the sim serves exactly the services the exporter expects.

This is the only module of the sim that imports lucid_exporter. The sim answers as the Lucid
services do, so it never reads the exporter's check definitions (what the exporter parses).
"""

from __future__ import annotations

from lucid_exporter.inventory import Service, default_catalogue

__all__ = ["Service", "default_catalogue"]
