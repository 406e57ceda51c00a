"""simlow.validation: predictions held against measurements, and the stack calibration.

Layering: ``measured`` (the CSVs of ``workloads/measured/`` mapped to cases) ->
``validate`` (predict every mapped row, errors per source / stack / device / split) and
``calibrate`` (fit a stack's few physical parameters, equal weight per device, held-out
split) -> ``board`` (modelled J/token against measured board power). It sits above the
simulator; the simulator never imports it. Never imports JAX.
"""
