"""The measured energy rows (``workloads/measured/energy_*.csv``) and what each one poses to
simlow (``workloads/measured/energy_mapping.yaml``).

``read_energy(data_dir)`` reads every row of the energy CSVs (rows that record no power or
no J/token included, for the skip list); ``pose(row, mapping)`` turns a row into an
``EnergyCase`` (device, model, scheme, stack, batch, prompt, generated tokens, what the
meter reads and over which window) or a reason it cannot: a pipeline-parallel row (PP > 1 in
the row's notes: ML.ENERGY's are 16 GPUs, two nodes, whose network no hwspec has), a device, model, quant or stack the mapping does not name, a
meter whose boundary it does not match (wall, system rail, unstated), no power or no J/token.
A tensor-parallel row (``Nx <device>``, TP=N in its notes) is posed as N of the mapping's
``1x <device>`` in tensor parallel (``EnergyCase.tp``; ``simlow.sim.parallel``), its meter
the sum over the N boards.

Measured quantities: ``tokens = batch x output tokens`` (J/token is energy per output
token in every source used), ``joules = J/token x tokens`` and ``seconds = joules / power``
(so the window's length is the source's own, whatever it spans).
"""

from __future__ import annotations

import csv
import enum
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from simlow.errors import SimlowError
from simlow.specs.filememo import FileMemo
from simlow.specs.registry import data_root
from simlow.specs.yamlfile import Reader, check_version, load_yaml

FILES = ("energy_mlenergy_v2.csv", "energy_meters.csv")
COLUMNS = ("device", "stack", "model", "dtype_or_quant", "batch", "phase", "prompt_tokens", "output_tokens",
           "tok_s", "power_W", "energy_J_per_token", "measurement_method", "source")
DEFAULT_GEN = 128   # generated tokens of a decode row whose CSV gives none (assumed: llama-bench's tg128)


class Meter(enum.Enum):
    BOARD = "board"        # the device's board / NVML power (DRAM on the board included)
    PACKAGE = "package"    # SoC package counters: the DRAM devices excluded
    NET = "net"            # a rail minus its idle baseline: dynamic power only


class Window(enum.Enum):
    REQUEST = "request"    # prefill and decode
    DECODE = "decode"      # decode only
    PREFILL = "prefill"    # prefill only (llama-bench ppN)


@dataclass(frozen=True)
class EnergyRow:
    source: str
    line: int
    device: str
    stack: str
    model: str
    quant: str
    batch: int | None
    phase: str
    prompt: int | None
    output: float | None
    tok_s: float | None
    power_w: float | None
    j_per_token: float | None
    method: str
    tp: int               # GPUs the row ran on (the leading 'Nx' of the device text; 1 without)
    pp: int = 1           # pipeline stages (PP=N in the row's notes; 1 without)


@dataclass(frozen=True)
class EnergyMapping:
    devices: Mapping[str, str]
    models: Mapping[str, str]
    quants: Mapping[str, str]
    model_schemes: Mapping[str, str]
    stacks: Mapping[str, str]
    meters: Mapping[str, Meter]
    phases: Mapping[str, Window]
    prompt_tokens: int
    prompt_source: str


@dataclass(frozen=True)
class EnergyCase:
    hw: str
    model: str
    scheme: str
    stack: str
    batch: int
    prompt: int
    gen: int
    meter: Meter
    window: Window
    tokens: float          # measured tokens in the window (batch x mean output; prompt tokens of a prefill)
    joules: float          # measured energy of the window
    seconds: float         # measured length of the window
    depth: int = 0         # tokens already in the KV cache
    ubatch: int | None = None
    tp: int = 1            # boards in tensor parallel (the meter reads their sum)


def board_case(row, case) -> EnergyCase | str:
    """The energy case of a mapped llama-bench row with an average board power
    (``strix_halo_lhl_llmbench.csv``; ``simlow.validation.measured`` maps it): a ppN row is a
    prefill window of N prompt tokens, a tgN row a decode window of N tokens, each lasting
    tokens / tok/s at the row's average board power."""
    from simlow.validation.measured import RowKind, case_scheme

    if not row.power_w or row.tok_s <= 0:
        return "no measured average power"
    if case.kind is RowKind.E2E:
        return "a whole-request row: llama-bench power rows are pp or tg"
    window = Window.PREFILL if case.kind is RowKind.PP else Window.DECODE
    tokens = case.batch * (case.prompt if window is Window.PREFILL else case.gen)
    seconds = tokens / row.tok_s
    return EnergyCase(case.hw, case.model, case_scheme(case), case.stack, case.batch, case.prompt, max(case.gen, 1),
                      Meter.BOARD, window, tokens, row.power_w * seconds, seconds, case.depth, case.ubatch)


def _num(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _int(text: str) -> int | None:
    m = re.match(r"\s*(\d+)\b", text or "")
    return int(m.group(1)) if m else None


def _row(source: str, line: int, d: dict) -> EnergyRow:
    m = re.match(r"(\d+)x ", d["device"])
    pp = re.search(r"\bPP=(\d+)", d.get("notes") or "")
    return EnergyRow(source, line, d["device"], d["stack"], d["model"], d["dtype_or_quant"], _int(d["batch"]),
                     d["phase"], _int(d["prompt_tokens"]) if (d["prompt_tokens"] or "").strip().isdigit() else None,
                     _num(d["output_tokens"]), _num(d["tok_s"]), _num(d["power_W"]), _num(d["energy_J_per_token"]),
                     d["measurement_method"], int(m.group(1)) if m else 1, int(pp.group(1)) if pp else 1)


def read_energy(data_dir: Path | str) -> list[EnergyRow]:
    """Every row of the energy CSVs in ``data_dir`` (a missing file or column is an error)."""
    out = []
    for name in FILES:
        path = Path(data_dir) / name
        if not path.is_file():
            raise SimlowError(f"energy validation: {str(path)!r} does not exist "
                              f"(the energy CSVs are {', '.join(FILES)})")
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise SimlowError(f"{path}: missing column(s) {', '.join(missing)} (expected {', '.join(COLUMNS)})")
            out += [_row(name, i, d) for i, d in enumerate(reader, start=2)]
    return out


def _table(r: Reader, key: str, convert=str) -> Mapping:
    sub = r.sub(key)
    out = {}
    for k in sub.keys():
        value = sub.str(k)
        try:
            out[str(k)] = convert(value)
        except ValueError:
            sub.fail(f"expected one of {', '.join(e.value for e in convert)}, got {value!r}", k)
    sub.done()
    return MappingProxyType(out)


def _read(path: Path) -> EnergyMapping:
    r = Reader(load_yaml(path), str(path))
    check_version(r, "schema_version")
    p = r.sub("prompt")
    m = EnergyMapping(*(_table(r, k) for k in ("devices", "models", "quants", "model_schemes", "stacks")),
                      _table(r, "meters", Meter), _table(r, "phases", Window), p.int("tokens", minimum=1),
                      p.str("source"))
    p.done()
    r.done()
    return m


_memo = FileMemo(_read)


def load_energy_mapping(path: Path | None = None) -> EnergyMapping:
    return _memo(path if path is not None else data_root() / "workloads" / "measured" / "energy_mapping.yaml")


def _first(table: Mapping, text: str, how) -> object | None:
    return next((v for k, v in table.items() if how(k, text)), None)


def pose(row: EnergyRow, m: EnergyMapping) -> EnergyCase | str:
    """The case a row poses, or the reason it cannot be posed (module docstring)."""
    if row.pp > 1:
        why = ("more than one 8-GPU node: simlow.sim.pipeline runs the stages over one node's link and the "
               "inter-node network is in no hwspec" if row.tp * row.pp > 8 else "pipeline-parallel energy is not posed")
        return f"{row.tp} GPUs x {row.pp} pipeline stages ({row.tp * row.pp} GPUs, PP > 1): {why}"
    device = re.sub(r"^\d+x ", "1x ", row.device)
    if not row.power_w or not row.j_per_token:
        return "no measured power and J/token both"
    meter = _first(m.meters, row.method, lambda k, t: k in t)
    if meter is None:
        return f"meter boundary not matched (measurement_method {row.method[:60]!r})"
    window = _first(m.phases, row.phase, lambda k, t: k in t)
    for what, table, text in (("device", m.devices, device), ("model", m.models, row.model),
                              ("quant", m.quants, row.quant)):
        if text not in table:
            return f"{what} {text!r} not in energy_mapping.yaml"
    stack = _first(m.stacks, row.stack, lambda k, t: t.startswith(k))
    if stack is None or window is None:
        return f"stack {row.stack[:40]!r} or phase {row.phase[:40]!r} not in energy_mapping.yaml"
    model = m.models[row.model]
    batch = row.batch or 1
    gen = int(round(row.output)) if row.output else DEFAULT_GEN
    tokens = batch * (row.output or gen)
    joules = row.j_per_token * tokens
    return EnergyCase(m.devices[device], model, m.model_schemes.get(model, m.quants[row.quant]), stack, batch,
                      row.prompt or m.prompt_tokens, max(gen, 1), meter, window, tokens, joules,
                      joules / row.power_w, tp=row.tp)
