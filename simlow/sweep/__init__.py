"""Sweeps: many points of one evaluator (fit, predict), resumable, on one machine or Ray.

Layering: ``evaluators`` (point settings -> flat row; the only module that calls the
models) <- ``spec`` (the strict YAML sweep file) <- ``store`` (JSONL record, CSV) <-
``backends`` (serial, process pool, Ray) <- ``run`` (plan, run, run_sweep). The library
never prints; ``simlow sweep`` draws the progress bar.

    spec = simlow.sweep.load_sweep("workloads/sweeps/kv-formats-16gb.yaml")
    rows = simlow.sweep.run_sweep(spec, "out/kv.jsonl")          # also writes out/kv.csv
"""

from simlow.sweep.backends import LocalPool, Ray, Serial, backend
from simlow.sweep.evaluators import EVALUATORS, Evaluator, evaluator
from simlow.sweep.run import Plan, plan, run, run_sweep
from simlow.sweep.spec import SweepSpec, load_sweep, read_sweep

__all__ = ["EVALUATORS", "Evaluator", "LocalPool", "Plan", "Ray", "Serial", "SweepSpec", "backend", "evaluator",
           "load_sweep", "plan", "read_sweep", "run", "run_sweep"]
