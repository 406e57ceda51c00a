"""NPU engines: default stacks, where ops without a native format run, roofline bounds on
NPU predictions, and GPU + NPU / CPU co-runs on Strix Halo's shared LPDDR5X."""

from dataclasses import replace

import pytest

import simlow
from simlow.errors import SimlowError
from simlow.workload.op import OpClass
from simlow.workload.templates import templates
from simlow.sim.des.unified import Agent, corun
from simlow.sim.machine import placed_elsewhere, placement
from simlow.sim.predict import default_stack, resolve
from simlow.sim.stack_load import load_stack, stack_dir
from simlow.specs import load_hw, load_model, load_scheme, names

WORK = dict(prompt=64, gen=4)
NPU_CASES = [("edge-npu-28nm", None, "ideal-npu"), ("strix-halo", "npu", "fastflowlm"),
             ("strix-halo", "npu", "ideal-npu"), ("snapdragon-8-elite", None, "ideal-npu")]


@pytest.mark.parametrize("hw, engine, stack", [("edge-npu-28nm", None, "ideal-npu"),
                                               ("snapdragon-8-elite", None, "ideal-npu"),
                                               ("strix-halo", "npu", "fastflowlm"),
                                               ("strix-halo", None, "llama.cpp-rocm"),
                                               ("strix-halo", "cpu", "llama.cpp-cpu"),
                                               ("h100-sxm", None, "llama.cpp-cuda")])
def test_default_stack_follows_the_engine_kind(hw, engine, stack):
    assert default_stack(load_hw(hw), engine) == stack
    p = simlow.predict("llama-3.1-8b", hw, "q4_0", engine=engine, **WORK)
    assert p.stack == stack and p.decode_tok_s > 0


def _placements(hw_name, engine, stack, model="llama-3.1-8b", scheme="q4_0"):
    req = resolve(model, hw_name, scheme, stack=stack, engine=engine, **WORK)
    temps, _ = templates(req.model, req.scheme)
    return req, {t.name: (t, placement(t, req.stack, req.hw, req.engine)) for t in temps}


@pytest.mark.parametrize("hw, engine, stack", NPU_CASES)
def test_npu_predictions_respect_the_roofline_of_the_formats_the_engines_have(hw, engine, stack):
    req, placed = _placements(hw, engine, stack)
    bw = req.hw.memory(req.engine.memory).bandwidth_Bps
    p = simlow.predict("llama-3.1-8b", hw, "q4_0", stack=stack, engine=engine, **WORK)
    for e in p.timeline:
        _, where = placed[e.op]
        peak = where.engine.peak(e.format)
        assert e.format == where.format and peak > 0          # a rate the engine running it has
        floor = max(e.bytes / bw, e.flops / peak)
        assert e.duration_s >= floor * (1 - 1e-12), (e.op, e.duration_s, floor)
    dec = [e for e in p.timeline if e.phase == "decode"]
    assert p.decode_s >= sum(e.bytes for e in dec) / bw * (1 - 1e-12)


def test_ideal_npu_is_the_bound_of_every_npu_stack():
    for hw, engine, stack in NPU_CASES:
        p = simlow.predict("gemma-3-4b", hw, "q4_0", stack=stack, engine=engine, **WORK)
        bound = simlow.predict("gemma-3-4b", hw, "q4_0", stack="ideal-npu", engine=engine, **WORK)
        assert p.decode_tok_s <= bound.decode_tok_s * (1 + 1e-12)
        assert p.prefill_tok_s <= bound.prefill_tok_s * (1 + 1e-12)


def test_xdna2_runs_softmax_and_norms_in_bf16_never_at_its_int8_rate():
    for stack in ("fastflowlm", "ideal-npu"):
        req, placed = _placements("strix-halo", "npu", stack)
        assert placed_elsewhere([t for t, _ in placed.values()], req.hw, req.stack, req.engine) == {}
        for t, where in placed.values():
            assert where.engine.name == "npu"
            if t.op_class in (OpClass.VECTOR, OpClass.ATTENTION, OpClass.GATHER):
                assert where.format == "bf16"
    _, placed = _placements("strix-halo", "npu", "fastflowlm")
    assert {w.format for t, w in placed.values() if t.op_class is OpClass.MATMUL} == {"bf16"}   # dequantized
    _, placed = _placements("strix-halo", "npu", "ideal-npu")
    assert {w.format for t, w in placed.values() if t.op_class is OpClass.MATMUL} == {"int8"}


def test_an_int8_only_npu_places_float_work_on_the_fallback_engine():
    req, placed = _placements("snapdragon-8-elite", None, "ideal-npu")
    for t, where in placed.values():
        if t.op_class is OpClass.MATMUL:
            assert (where.engine.name, where.format) == ("npu", "int8")
        else:                                   # attention (fp16), norms/softmax/RoPE (fp32), gather
            assert (where.engine.name, where.format) == ("cpu", "fp32")
    p = simlow.predict("llama-3.1-8b", "snapdragon-8-elite", "q4_0", **WORK)
    assert any(n.startswith("placed on cpu") and "attention" in n for n in p.notes)


def test_no_fallback_engine_is_an_error_naming_what_is_missing():
    bare = replace(load_stack("ideal-npu"), fallback_engine=None)
    with pytest.raises(SimlowError, match=r"needs one of fp32, fp16, bf16; npu has only int8.*fallback_engine"):
        simlow.predict("llama-3.1-8b", "snapdragon-8-elite", "q4_0", stack=bare, **WORK)


def test_a_fallback_engine_on_another_memory_or_absent_is_an_error():
    hw = load_hw("snapdragon-8-elite")
    npu, cpu = hw.engine("npu"), hw.engine("cpu")
    apart = replace(hw, engines=(npu, replace(cpu, memory="elsewhere")))
    alone = replace(hw, engines=(npu,))
    t = next(t for t in templates(load_model("gemma-3-4b"), load_scheme("q4_0"))[0] if t.op_class is OpClass.VECTOR)
    with pytest.raises(SimlowError, match="moving operands between memories is not modelled"):
        placement(t, load_stack("ideal-npu"), apart, npu)
    with pytest.raises(SimlowError, match="fallback_engine cpu is not in snapdragon-8-elite"):
        placement(t, load_stack("ideal-npu"), alone, npu)


def _stack_yaml(tmp_path, name, **changes):
    src = (stack_dir() / "ideal-npu.yaml").read_text().replace("name: ideal-npu", f"name: {name}")
    for key, value in changes.items():
        src = "\n".join(f"{key}: {value}" if line.startswith(f"{key}:") else line for line in src.splitlines())
    path = tmp_path / f"{name}.yaml"
    path.write_text(src)
    return path


def test_stack_schema_checks_the_placement_keys(tmp_path):
    with pytest.raises(SimlowError, match="fallback_engine must differ from engine"):
        load_stack(_stack_yaml(tmp_path, "same", fallback_engine="npu"))
    with pytest.raises(SimlowError, match="unknown compute format 'fp64'"):
        load_stack(_stack_yaml(tmp_path, "bad", vector_formats="[fp64]"))
    with pytest.raises(SimlowError, match="at least one"):
        load_stack(_stack_yaml(tmp_path, "empty", vector_formats="[]"))
    ok = load_stack(_stack_yaml(tmp_path, "fine", vector_formats="[bf16]", fallback_engine="gpu"))
    assert ok.vector_formats == ("bf16",) and ok.fallback_engine.value == "gpu"


@pytest.fixture(scope="module")
def gpu_npu():
    gpu = resolve("llama-3.1-8b", "strix-halo", "q4_k_m", prompt=64, gen=2, engine="gpu")
    npu = resolve("gemma-3-4b", "strix-halo", "q4_0", prompt=64, gen=1, engine="npu")
    return gpu, npu, corun([Agent(gpu, 2), Agent(npu, 1)])


def test_corun_slows_the_gpu_at_most_twofold_and_not_the_port_capped_npu(gpu_npu):
    _, npu, run = gpu_npu
    gpu_run, npu_run = run.agents
    assert npu.stack.bandwidth_mode == "rate_cap"
    # max-min fairness: the GPU holds >= half the bus while both run; fastflowlm's NPU is capped
    # by its own port at 0.194 x 256 GB/s, below half the bus, so it always gets its cap
    assert 1.0 < gpu_run.slowdown <= 2.0 + 1e-9
    assert npu_run.slowdown == 1.0


def test_corun_conserves_bytes(gpu_npu):
    gpu, npu, run = gpu_npu
    assert run.moved_alone == run.moved_together                       # exact Fractions
    assert float(run.moved_together["lpddr5x"]) == pytest.approx(sum(a.nbytes for a in run.agents), rel=1e-12)
    for a, req, steps in zip(run.agents, (gpu, npu), (2, 1)):          # the roofline's decode bytes, step for step
        p = simlow.predict(req.model.name, "strix-halo", req.scheme.name, prompt=64, gen=steps, engine=req.engine.name)
        assert a.nbytes == pytest.approx(sum(e.bytes for e in p.timeline if e.phase == "decode"), rel=1e-9)
        assert a.alone_s >= p.decode_s * (1 - 1e-9)                    # the DES never beats the roofline


@pytest.mark.parametrize("hw", names("hardware"))
def test_every_named_default_stack_exists_and_runs_its_engine(hw):
    """The hardware spec names its engines' stacks (no guessing from the title); each named
    stack exists and runs an engine of that kind."""
    spec = load_hw(hw)
    for e in spec.engines:
        if e.default_stack is not None:
            assert load_stack(e.default_stack).engine is e.kind, (hw, e.name)
    if spec.vendor is None:
        assert all(e.default_stack is None for e in spec.engines), f"{hw}: a device with stacks names its vendor"
