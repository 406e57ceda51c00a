"""simlow.npu: a hypothetical NPU as a design (datapath unit, arrays, SRAM, DRAM interface,
node), priced by ``simlow.cost`` and turned into a hardware spec the simulator runs.

Layering: ``data`` (NPU tables in ``simlow/data/cost/npu.yaml``) and ``dram`` (DRAM
interfaces) -> ``design`` (area, peaks, energy of one design) -> ``spec`` (the design as a
``HardwareSpec``) and ``shipped`` (the designs in ``hwspecs/``) -> ``sweep`` (vectorized
over many designs with the simulator's roofline) -> ``sizing`` (the smallest design that
meets a target). It imports ``simlow.cost``, ``simlow.specs`` and the simulator; nothing
below it imports it. Never imports JAX.
"""
