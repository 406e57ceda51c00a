"""simlow.workload: a model's work per phase, as data the simulator runs.

``op`` (the vocabulary: phases, op classes, templates, ops, workload features and
quantities) -> ``templates`` (a model's op templates under a scheme) and ``routing`` (MoE
expert routing distributions: expected distinct experts per step) -> ``features`` (a
template's features at a phase; a template evaluated into an op) and ``engines`` (which of
a device's engines can run an op) -> ``graph`` (the op graph of one phase). It imports only
``simlow.specs``, ``simlow.formats`` and ``simlow.numerics``; the simulator, the NPU sizing
and the claims read it.
"""
