"""simlow.cost: energy, area and delay of hardware, priced apart from counting.

Layering (each module imports only those above it):

- ``strictyaml``, ``sourced``, ``fpformats``: strict YAML reading, numbers with provenance,
  the floating-point format registry.
- ``widthmodel``: how cost grows with width (the documented models) and anchor curves.
- ``primitives``, ``memory``, ``scaling``: the tables in ``simlow/data/cost/*.yaml``
  (every number with its source and a confidence tag) and node scaling rules.
- ``pricing``: energy/area of one primitive at a node; pricing of ``simlow.events`` counts.
- ``delay``, ``units``: critical-path delay model and datapath units described by their parts.
- ``maccompare``: the PoT-vs-INT MAC array comparison for the seeds' hardware claim.

The package never imports JAX and never prints; the CLI (``simlow cost``) shows its tables.
"""
