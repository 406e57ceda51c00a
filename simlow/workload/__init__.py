"""simlow.workload: a model's work per phase, as data the simulator runs.

``routing`` (MoE expert routing distributions: expected distinct experts per step) ->
``graph`` (the op graph of a model for prefill or decode: FLOPs per compute format, bytes
per memory level, the engines that can run each op). It imports only ``simlow.specs`` and
``simlow.formats``; the simulator, the NPU sizing and the claims read it.
"""
