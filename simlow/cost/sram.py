"""An SRAM macro model: area, read/write energy, leakage and access time of a macro.

A macro holds ``words`` x ``bits`` (``N`` bits); a buffer of ``capacity_bytes`` read
``width_bits`` at a time is ``banks`` macros of ``capacity / banks`` each. At 45 nm:

    area      = A_BIT x N + A_EDGE x sqrt(N)                 um2 (bit cells + pitch-matched
                                                             periphery along the array edges)
    energy    = bits x (E_BIT + E_WIRE x sqrt(words))        fJ per access (sense/drive per bit,
                                                             bit line growing with the rows)
    access    = T0 + T1 x sqrt(N)                            ns (decode + sense, and the word
                                                             and bit lines across the array)
    leakage   = LEAK_DENSITY x area                          W

The seven constants are FITTED (least squares on relative error) on the five CACTI macros of
``simlow/data/cost/sram.yaml`` (bsg_fakeram / CACTI, Nangate45 / FreePDK45, 1.1 V, tt, 25 C);
``fit()`` reports each row's residual. Held out: the Horowitz 45 nm SRAM reads, the TPUv4i
7 nm SRAM energies and every chip (``simlow cost validate``).

To another node (``cell_ratio`` = high-density bit cell at the node / at 45 nm, from the
caller's bit-cell table; logic factors from ``simlow.cost.scaling``), assumptions (A):

- ``A_BIT`` scales with the bit cell, ``A_EDGE`` with sqrt(cell ratio x logic area factor)
  (edge length follows the cells, edge depth the periphery logic);
- ``E_BIT`` (sense amplifiers, drivers, decoders: logic) with the Stillmaker energy factor;
  ``E_WIRE`` with sqrt(cell ratio): a bit line's capacitance follows its length at a wire
  capacitance per length that hardly changes across nodes;
- ``T0`` (gates) with the FO4 delay factor; ``T1`` with sqrt(cell ratio): a bit line is
  discharged by a cell read current of about the same size at every node, so its delay
  follows its capacitance, i.e. its length;
- leakage per mm2 constant across nodes (as ``npu.yaml`` assumes for logic).
The FreePDK45 cell behind the rows is likely larger than the 45 nm table cell the ratios are
taken against, so areas may read high (a stated bias, not corrected).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simlow.cost.primitives import DATA_DIR
from simlow.cost.scaling import area_factor, check_node, delay_factor, stillmaker_energy_factor
from simlow.errors import SimlowError
from simlow.specs.filememo import FileMemo
from simlow.specs.sourced import read_confidence
from simlow.specs.yamlfile import Reader, check_version, load_yaml

SRAM_FILE = DATA_DIR / "sram.yaml"
ROW_KEYS = ("words", "bits", "area_um2", "access_ns", "access_fJ", "leakage_nW")


@dataclass(frozen=True)
class MacroRow:
    words: int
    bits: int
    area_um2: float
    access_ns: float
    access_fJ: float
    leakage_nW: float

    @property
    def n_bits(self) -> int:
        return self.words * self.bits


@dataclass(frozen=True)
class SramData:
    file: str
    source: str
    node_nm: int
    rows: tuple[MacroRow, ...]


def _read_sram(path: Path) -> SramData:
    r = Reader(load_yaml(path), str(path))
    check_version(r)
    c = r.sub("cacti45")
    read_confidence(c)
    rows = []
    for m in c.readers("macros"):
        rows.append(MacroRow(m.int("words", minimum=1), m.int("bits", minimum=1),
                             *(m.number(k, positive=True) for k in ROW_KEYS[2:])))
        m.done()
    if len(rows) < 3:
        c.fail("expected at least 3 macros to fit the model on", "macros")
    data = SramData(str(path), c.str("source", nonempty=True), c.int("node_nm", minimum=1), tuple(rows))
    if data.node_nm != 45:
        c.fail("the macro rows must be at the 45 nm base node", "node_nm")
    c.done()
    r.done()
    return data


# The table (default: the shipped file), memoized by the file's bytes: an edited file is read again.
load_sram = FileMemo(_read_sram, SRAM_FILE)


@dataclass(frozen=True)
class SramFit:
    """The 45 nm constants (see the module docstring) and each fitted row's residuals."""

    area_bit_um2: float
    area_edge_um2: float
    e_bit_fJ: float
    e_wire_fJ: float
    t0_ns: float
    t1_ns: float
    leak_W_per_mm2: float
    residuals: tuple[tuple[str, float, float, float], ...]   # (macro, area, energy, access) error

    def describe(self) -> str:
        worst = max(max(abs(a), abs(e), abs(t)) for _, a, e, t in self.residuals)
        return (f"SRAM macro model fitted on {len(self.residuals)} CACTI 45 nm macros (simlow/data/cost/sram.yaml; "
                f"worst row error {worst:.0%})")


def _lsq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares on relative error: minimise sum((x @ c / y - 1)^2)."""
    c, *_ = np.linalg.lstsq(x / y[:, None], np.ones(len(y)), rcond=None)
    return c


def fit(data: SramData | None = None) -> SramFit:
    """Fit the seven 45 nm constants on the macro rows of ``data`` (default: sram.yaml)."""
    rows = (data or load_sram()).rows
    n = np.array([r.n_bits for r in rows], float)
    w = np.array([r.bits for r in rows], float)
    words = np.array([r.words for r in rows], float)
    area = np.array([r.area_um2 for r in rows])
    energy = np.array([r.access_fJ for r in rows])
    access = np.array([r.access_ns for r in rows])
    leak = np.array([r.leakage_nW for r in rows])
    a = _lsq(np.c_[n, np.sqrt(n)], area)
    e = _lsq(np.c_[w, w * np.sqrt(words)], energy)
    t = _lsq(np.c_[np.ones_like(n), np.sqrt(n)], access)
    density = _lsq(np.c_[area], leak)[0]            # nW per um2
    res = tuple((f"{r.words}x{r.bits}", float(pa / r.area_um2 - 1), float(pe / r.access_fJ - 1),
                 float(pt / r.access_ns - 1))
                for r, pa, pe, pt in zip(rows, np.c_[n, np.sqrt(n)] @ a, np.c_[w, w * np.sqrt(words)] @ e,
                                         np.c_[np.ones_like(n), np.sqrt(n)] @ t))
    return SramFit(float(a[0]), float(a[1]), float(e[0]), float(e[1]), float(t[0]), float(t[1]),
                   float(density) * 1e-9 / 1e-6, res)


load_fit = FileMemo(lambda path: fit(_read_sram(path)), SRAM_FILE)


@dataclass(frozen=True)
class Macro:
    """A buffer of ``capacity_bytes`` in ``banks`` equal macros, each read ``width_bits`` wide."""

    capacity_bytes: int
    width_bits: int
    node_nm: int
    banks: int = 1

    def __post_init__(self) -> None:
        for k in ("capacity_bytes", "width_bits", "banks"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise SimlowError(f"SRAM macro {k} must be a positive integer, got {v!r}")
        if self.capacity_bytes * 8 < self.banks * self.width_bits:
            raise SimlowError(f"SRAM of {self.capacity_bytes} B cannot hold {self.banks} banks of one "
                              f"{self.width_bits}-bit word")
        check_node(self.node_nm)

    @property
    def bank_bits(self) -> float:
        return self.capacity_bytes * 8 / self.banks


@dataclass(frozen=True)
class MacroCost:
    area_um2: float          # all banks
    read_pJ: float           # one width-bit access of one bank
    write_pJ: float
    leakage_W: float         # all banks
    access_ps: float         # clock-to-data of one bank

    def to_dict(self) -> dict:
        return {"area_um2": self.area_um2, "read_pJ": self.read_pJ, "write_pJ": self.write_pJ,
                "leakage_W": self.leakage_W, "access_ps": self.access_ps}


def bank_area_um2(bank_bits, width_bits, node_nm: int, cell_ratio: float, f: SramFit | None = None):
    """Area of one bank of ``bank_bits`` (a number or a NumPy array), um2."""
    f = f or load_fit()
    edge = f.area_edge_um2 * math.sqrt(cell_ratio * area_factor(node_nm))
    return f.area_bit_um2 * cell_ratio * bank_bits + edge * np.sqrt(bank_bits)


def macro_cost(m: Macro, cell_ratio: float, f: SramFit | None = None) -> MacroCost:
    """Cost of ``m`` at its node; ``cell_ratio`` = bit cell at the node / at 45 nm."""
    if not cell_ratio > 0:
        raise SimlowError(f"SRAM cell_ratio must be > 0, got {cell_ratio!r}")
    f = f or load_fit()
    n, node = m.bank_bits, m.node_nm
    area = float(bank_area_um2(n, m.width_bits, node, cell_ratio, f)) * m.banks
    words = n / m.width_bits
    e_fJ = m.width_bits * (f.e_bit_fJ * stillmaker_energy_factor(node) + f.e_wire_fJ * math.sqrt(cell_ratio * words))
    t_ns = f.t0_ns * delay_factor(node) + f.t1_ns * math.sqrt(cell_ratio * n)
    return MacroCost(area, e_fJ / 1e3, e_fJ / 1e3, f.leak_W_per_mm2 * area / 1e6, t_ns * 1e3)
