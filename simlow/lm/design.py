"""A numerical design of an LLM accelerator: formats, rotation, datapath, hardware.

``load_design(name_or_path)`` reads ``workloads/designs/<name>.yaml`` (or a path) strictly
(``simlow.specs.yamlfile``): unknown keys, unknown format or unit names and inconsistent
choices are errors naming the file and key. Fields (YAML keys the same)::

    weights      float | gguf-native | <simlow.quant format name>
    activations  float | q8_1 | <simlow.quant format name> (quantized per row = per token
                 along the matmul's K axis, in the format's own granularity)
    kv_cache     float | <simlow.quant format name> (K after rope and V, per head vector)
    rotation     none | hadamard | random   (QuaRot-style, of every matmul's K axis)
                 | offq (``simlow.quant.offq``: one Householder reflection and shared offset
                 per matmul input, fitted on ``calibration`` tokens, ``simlow.lm.calibrate``)
    datapath     float | ggml | <simlow.datapath IntMacUnit, ShiftAddUnit or TernaryTreeUnit preset name>
                 (a Datapath member, or the unit config itself: ``Design.unit``)
    acc_bits, overflow   optional overrides of the unit's accumulator
    frac_bits    optional: a shift-add unit's accumulator fraction bits
    hardware     a simlow hardware name for speed and energy (default rtx-4090)
    scheme       the simlow scheme that prices the design, or "none" (not available)
    kv_scheme    optional simlow KV scheme for the pricing (e.g. kv-q4_0)
    method       rtn | gptq | awq | hqq: how weights reach the weight format's grid
                 (``simlow.lm.calibrate``; non-rtn: float datapath, no rotation)
    hqq_zero     hqq only: fractional (HQQ's float16 zero, default) | integer (an integer
                 zero through the solve, ``simlow.quant.hqq.ZeroMode``)
    calibration  gptq/awq/offq: {start, n_tokens, ctx} tokens of the shipped text
                 ``workloads/text/kjv-genesis-1-5.txt`` (default 2048..4096, windows of 512)
    stack        optional simlow software stack for the pricing (default: the hardware's)

Datapaths: ``float`` is a float32 matmul on the (fake-)quantized values; ``ggml`` is
llama.cpp's CPU block dot product (``simlow.lm.ggml_dot``: Q4_0/Q4_1/Q8_0 weights against
Q8_0/Q8_1 activations); an ``IntMacUnit`` name runs the exact integer matmul of
``simlow.lm.intmatmul`` on symmetric integer codes (``int<b>_sym_*`` formats); a
``ShiftAddUnit`` name (one term) runs ``simlow.lm.shiftadd_jax`` on ``pot<b>`` weight codes
and per-token integer activation codes (``orp<b>``: two passes, see ``simlow.lm.linear``); a ``TernaryTreeUnit`` name runs
``simlow.lm.ternary_jax`` on BitNet ternary weight and 8-bit activation codes.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from pathlib import Path

from simlow.datapath import UNITS, IntMacUnit, Overflow, ShiftAddUnit, TernaryTreeUnit
from simlow.errors import SimlowError, unknown_name
from simlow.quant import FORMATS
from simlow.quant.hqq import ZeroMode
from simlow.quant.uniform import Granularity, UniformInt
from simlow.specs.yamlfile import open_spec

SCHEMA_VERSION = 1
DESIGN_DIR = Path(__file__).resolve().parents[2] / "workloads" / "designs"
GGML_WEIGHTS = ("q4_0", "q4_1", "q8_0", "gguf-native")
CALIBRATION_TEXT = Path(__file__).resolve().parents[2] / "workloads" / "text" / "kjv-genesis-1-5.txt"


class WeightMethod(enum.Enum):
    """How the weights are put on the weight format's grid."""

    RTN = "rtn"      # round to nearest (the format's own quantize)
    GPTQ = "gptq"    # simlow.quant.gptq, Hessian from calibration activations
    AWQ = "awq"      # simlow.quant.awq, channel scales searched on calibration activations
    HQQ = "hqq"      # simlow.quant.hqq, calibration-free zero-point optimization

    @property
    def calibrated(self) -> bool:
        return self in (WeightMethod.GPTQ, WeightMethod.AWQ)


@dataclass(frozen=True)
class Calibration:
    """Tokens ``start .. start + n_tokens`` of the shipped text (``CALIBRATION_TEXT``), run
    through the float model in windows of ``ctx`` tokens."""

    start: int = 2048
    n_tokens: int = 2048
    ctx: int = 512

    @property
    def end(self) -> int:
        return self.start + self.n_tokens


class Rotation(enum.Enum):
    NONE = "none"
    HADAMARD = "hadamard"
    RANDOM = "random"
    OFFQ = "offq"        # fitted per matmul input on calibration tokens (simlow.lm.calibrate)


class Datapath(enum.Enum):
    """The datapaths that are not a MAC unit of ``simlow.datapath``."""
    FLOAT = "float"     # float32 matmuls on (fake-)quantized values
    GGML = "ggml"       # llama.cpp's CPU block dot products


Unit = IntMacUnit | ShiftAddUnit | TernaryTreeUnit


@dataclass(frozen=True)
class Design:
    name: str
    weights: str = "float"
    activations: str = "float"
    kv_cache: str = "float"
    rotation: Rotation = Rotation.NONE
    datapath: Datapath | Unit = Datapath.FLOAT     # a unit: its config, run exactly
    hardware: str = "rtx-4090"
    scheme: str | None = None
    kv_scheme: str | None = None
    stack: str | None = None
    description: str = ""
    method: WeightMethod = WeightMethod.RTN
    calibration: Calibration | None = None
    hqq_zero: ZeroMode = ZeroMode.FRACTIONAL

    @property
    def unit(self) -> Unit | None:
        """The MAC unit every matmul runs on, or None for the float and ggml datapaths."""
        return None if isinstance(self.datapath, Datapath) else self.datapath

    @property
    def integer(self) -> bool:
        return self.unit is not None


def _check_format(r, key: str, value: str, extra: tuple[str, ...]) -> str:
    if value not in extra and value not in FORMATS:
        r.fail(f"{value!r} is not a format (valid: {', '.join(extra)} or a simlow.quant format, "
               f"e.g. q4_0, int8_sym_channel)", key)
    return value


def _datapath(r, datapath: str) -> Datapath | Unit:
    if datapath in tuple(d.value for d in Datapath):
        if r.has("acc_bits") or r.has("overflow") or r.has("frac_bits"):
            r.fail("acc_bits/overflow/frac_bits apply to an integer, shift-add or ternary-tree unit only", "acc_bits")
        return Datapath(datapath)
    unit = UNITS.get(datapath)
    if not isinstance(unit, (IntMacUnit, ShiftAddUnit, TernaryTreeUnit)):
        ints = sorted(n for n, u in UNITS.items() if isinstance(u, (IntMacUnit, ShiftAddUnit, TernaryTreeUnit)))
        r.fail(f"{datapath!r} is not float, ggml, an integer or shift-add MAC unit or a ternary tree ({', '.join(ints)})", "datapath")
    bits = r.int("acc_bits", default=unit.acc_bits, minimum=2)
    policy = r.str("overflow", default=unit.overflow.value, choices=tuple(o.value for o in Overflow))
    extra = {}
    if isinstance(unit, ShiftAddUnit):
        extra["frac_bits"] = r.int("frac_bits", default=unit.frac_bits, minimum=0)
    elif r.has("frac_bits"):
        r.fail("frac_bits applies to a shift-add unit only", "frac_bits")
    try:
        return dataclasses.replace(unit, acc_bits=bits, overflow=Overflow(policy), **extra)
    except SimlowError as err:
        raise r.fail(str(err), "acc_bits") from None


def _int_code_format(r, key: str, fmt: str, bits: int) -> None:
    spec = FORMATS[fmt] if fmt in FORMATS else None
    if spec is None or not fmt.startswith("int") or "_sym_" not in fmt or fmt.endswith("tensor"):
        r.fail(f"an integer datapath needs symmetric per-channel or per-group integer codes "
               f"(int<b>_sym_channel / int<b>_sym_g<n>), got {fmt!r}", key)
    if int(fmt[3:fmt.index("_")]) > bits:
        r.fail(f"{fmt!r} has more bits than the unit's {bits}-bit operand", key)


def _pot_format(r, fmt: str, unit: ShiftAddUnit) -> None:
    """A shift-add unit takes single-term ``pot<b>`` (or ``orp<b>``: two passes of it) weights
    whose shifts 0 .. -(2**(b-1)-2) it holds."""
    if unit.terms != 1 or not (fmt[:3] in ("pot", "orp") and fmt[3:].isdigit()):
        r.fail(f"the shift-add datapath here takes pot<b> or orp<b> weights on a one-term unit, got {fmt!r} "
               f"on {unit.name!r}", "weights")
    if f"pot{fmt[3:]}" not in FORMATS:
        r.fail(f"{fmt!r}: no pot{fmt[3:]} format for its shift-add codes", "weights")
    deepest = 2 ** (int(fmt[3:]) - 1) - 2
    if unit.exp_max < 0 or unit.exp_min > -deepest:
        r.fail(f"{fmt!r} needs shifts 0..-{deepest}; unit {unit.name!r} has [{unit.exp_min}, {unit.exp_max}]",
               "datapath")


def _check_consistent(r, d: Design) -> None:
    if d.datapath is Datapath.GGML:
        if d.weights not in GGML_WEIGHTS or d.activations not in ("q8_0", "q8_1"):
            r.fail("the ggml datapath takes q4_0/q4_1/q8_0/gguf-native weights and q8_0 or q8_1 "
                   "activations (llama.cpp's vec_dot types)", "datapath")
    elif isinstance(d.unit, TernaryTreeUnit):
        if d.weights != "bitnet_w158" or d.activations != "bitnet_a8":
            r.fail("the ternary tree takes bitnet_w158 weights and bitnet_a8 activations", "datapath")
    elif isinstance(d.unit, ShiftAddUnit):
        _pot_format(r, d.weights, d.unit)
        if d.weights.startswith("orp") and d.rotation is not Rotation.NONE:
            r.fail("orp weights carry their own Hadamard rotation (of the residual pass); rotation must be none",
                   "rotation")
        _int_code_format(r, "activations", d.activations, d.unit.a_bits)
    elif d.unit is not None:
        _int_code_format(r, "weights", d.weights, d.unit.w_bits)
        _int_code_format(r, "activations", d.activations, d.unit.a_bits)
    elif d.activations == "q8_1":
        r.fail("q8_1 activations exist only on the ggml datapath", "activations")
    if d.rotation is Rotation.OFFQ:
        _check_offq(r, d)
    if d.method is not WeightMethod.RTN:
        fmt = FORMATS.get(d.weights)
        if not isinstance(fmt, UniformInt) or fmt.granularity is Granularity.TENSOR:
            r.fail(f"{d.method.value} puts weights on a per-channel or per-group uniform integer grid "
                   f"(int<b>_sym|asym_channel|g<n>), got {d.weights!r}", "weights")
        if d.method is WeightMethod.HQQ and (fmt.symmetric or not fmt.group):
            r.fail("hqq needs an asymmetric per-group grid (int<b>_asym_g<n>)", "weights")
        if d.datapath is not Datapath.FLOAT or d.rotation is not Rotation.NONE:
            r.fail(f"{d.method.value} weights run on the float datapath without rotation here", "method")
        if d.method is WeightMethod.AWQ and d.activations != "float":
            r.fail("awq folds 1/s into the activations; quantized activations are not supported", "activations")


def _check_offq(r, d: Design) -> None:
    """OffQ drops channel 0 of the reflected activation for its offset: per-token integer
    activations (the inner format) on the float or an integer MAC datapath, per-channel weights."""
    if d.datapath is not Datapath.FLOAT and not isinstance(d.unit, IntMacUnit):
        r.fail("rotation offq runs on the float datapath or an integer MAC unit", "rotation")
    if not (d.activations.startswith("int") and d.activations.endswith("_channel")):
        r.fail(f"rotation offq quantizes the reflected channels 1.. per token: activations int<b>_sym|asym_channel, "
               f"got {d.activations!r}", "activations")
    if d.weights in ("gguf-native", "float") or (d.unit is not None and not d.weights.endswith("_channel")):
        r.fail(f"rotation offq re-quantizes the reflected weights (per channel on an integer unit, int<b>_sym_channel), got {d.weights!r}",
               "weights")


def _calibration(r, method: WeightMethod, rotation: Rotation) -> Calibration | None:
    calibrated = method.calibrated or rotation is Rotation.OFFQ
    sub = r.sub("calibration", required=False)
    if sub is None:
        return Calibration() if calibrated else None
    if not calibrated:
        r.fail(f"method {method.value} takes no calibration (nor does rotation {rotation.value})", "calibration")
    cal = Calibration(sub.int("start", minimum=0), sub.int("n_tokens", minimum=2), sub.int("ctx", default=512, minimum=2))
    sub.done()
    return cal


def read_design(path: Path | str) -> Design:
    r, name = open_spec(path, SCHEMA_VERSION)
    w = _check_format(r, "weights", r.str("weights"), ("float", "gguf-native"))
    a = _check_format(r, "activations", r.str("activations", default="float"), ("float", "q8_1"))
    kv = _check_format(r, "kv_cache", r.str("kv_cache", default="float"), ("float",))
    rot = Rotation(r.str("rotation", default="none", choices=tuple(x.value for x in Rotation)))
    datapath = _datapath(r, r.str("datapath", default="float"))
    scheme = r.str("scheme", default="none")
    kv_scheme = r.str("kv_scheme", default="none")
    d = Design(name, w, a, kv, rot, datapath, r.str("hardware", default="rtx-4090"),
               None if scheme == "none" else scheme, None if kv_scheme == "none" else kv_scheme,
               r.str("stack", default=None) if r.has("stack") else None, r.str("description", default=""))
    method = WeightMethod(r.str("method", default="rtn", choices=tuple(m.value for m in WeightMethod)))
    zero = ZeroMode(r.str("hqq_zero", default="fractional", choices=tuple(z.value for z in ZeroMode)))
    if r.has("hqq_zero") and method is not WeightMethod.HQQ:
        r.fail("hqq_zero applies to method hqq only", "hqq_zero")
    d = dataclasses.replace(d, method=method, calibration=_calibration(r, method, rot), hqq_zero=zero)
    _check_consistent(r, d)
    r.done()
    return d


def shipped_designs() -> list[str]:
    return sorted(p.stem for p in DESIGN_DIR.glob("*.yaml"))


def load_design(name: str | Path | Design) -> Design:
    """A shipped design by name, a design YAML by path, or a Design as is."""
    if isinstance(name, Design):
        return name
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return read_design(path)
    if str(name) not in shipped_designs():
        raise unknown_name("design", str(name), shipped_designs())
    return read_design(DESIGN_DIR / f"{name}.yaml")
