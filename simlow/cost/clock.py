"""The clock a whole design closes timing at, against the logic fmax of one unit.

``simlow.cost.macs`` gives a unit's critical path in FO4 (``simlow.cost.delay``) with a
bare 3 FO4 sequencing term and no margin: its ``fmax_Hz`` is the *logic fmax*. A taped-out
design runs far slower (TPU v1: 700 MHz at 28 nm against a 3.2 GHz INT8 logic fmax). The
design cycle here is the largest of three bounds:

    logic cycle = (path FO4 - T_SEQ + REG_OVERHEAD_FO4) x FO4(node) / (1 - SKEW_FRACTION) x CORNER_DERATE
    SRAM cycle  = (SRAM macro access + REG_OVERHEAD_FO4 x FO4(node)) / (1 - SKEW_FRACTION) x CORNER_DERATE
    floor       = FLOOR_FO4 x FO4(node) x CORNER_DERATE
    cycle       = max(logic cycle, SRAM cycle, floor)

- ``REG_OVERHEAD_FO4`` = 4: clock-to-Q + setup of a standard-cell flip-flop (R: Chinnery &
  Keutzer, "Closing the Gap Between ASIC & Custom", Kluwer 2002, ch. 3 "Reducing the timing
  overhead: clock skew, register overhead, latches vs flip-flops", copy at
  www.zanotowane.pl/1025/6283; Weste & Harris, "CMOS VLSI Design" 4th ed., ch. 10
  sequencing overhead; the value is recalled, not re-read);
- ``SKEW_FRACTION`` = 0.10: clock skew + jitter budget as a share of the cycle in an ASIC
  clock tree (R, same chapter; recalled);
- ``CORNER_DERATE`` = 1.3: sign-off at the slow corner (slow-slow, low Vdd, hot) against
  the typical-corner delays the FO4 model and the SRAM macro rows stand for (A: assumed;
  Chinnery & Keutzer ch. 1 discuss worst-case vs typical speed binning, no figure re-read);
- SRAM macro access: clock-to-data of one bank (``simlow.cost.sram``, fitted on CACTI 45 nm
  macros; passed in by the caller, 0 for a design without SRAM);
- ``FLOOR_FO4``: FITTED on one row (``FIT_ROWS``), TPU v1 700 MHz at 28 nm (Jouppi et al.
  ISCA 2017, arXiv:1704.04760 Table 2), far below its logic and SRAM bounds. The floor stands
  for what the two bounds do not see: the operating point and power the designer chose, wires
  across the array, design effort, counted in FO4 so it scales with gate delay (an assumption
  of form). Gate delay by node follows the Stillmaker & Baas delay fits at each node's nominal
  supply (``simlow.cost.scaling``). An earlier form added a fixed-ps part and fitted both on
  TPU v1 and Eyeriss v1 (250 MHz at 65 nm); with the delay fits at the nominal supply that
  two-row fit gives a negative fixed part (-557 ps), which no wire or clock tree has, so the
  floor is one FO4 count on one row and Eyeriss v1 is held out with every other chip
  (``simlow cost validate``).

Design inputs, each from the design's own published structure (never fitted per chip; the
validation rows carry their sources in ``workloads/measured/silicon_published.csv``):

- ``vdd_V``: the supply the design runs at. Gate delay (all three bounds, the SRAM access
  included: an assumption, a bit line's read current follows the supply like a gate's) is the
  FO4 delay at the node times the Stillmaker delay fit's d(vdd) / d(nominal)
  (``simlow.cost.scaling.vdd_delay_ratio``). ``None``: the node's nominal supply (TPU v1, whose
  supply is not published, so the floor is fitted at nominal);
- ``logic_stages``: pipeline stages the unit's path is cut into (Eyeriss v1's PE: spad access,
  multiply, accumulate); each stage holds ``(path - T_SEQ) / logic_stages`` FO4 of logic plus
  the register overhead (an even cut: an assumption);
- ``sram_access_ps``: the clock-to-data of the design's own buffer macro (its bank size and
  width), from ``simlow.cost.sram`` at nominal supply.
"""

from __future__ import annotations

from dataclasses import dataclass

from simlow.cost import delay as D
from simlow.cost.scaling import fo4_ps, vdd_delay_ratio
from simlow.errors import SimlowError

REG_OVERHEAD_FO4 = 4.0
SKEW_FRACTION = 0.10
CORNER_DERATE = 1.3
# (chip, figure, Hz, node): the row FLOOR_FO4 is fitted on
FIT_ROWS = (("TPUv1", "clock", 700e6, 28),)
SOURCES = {
    "reg_overhead_fo4": "R: Chinnery & Keutzer 2002 ch. 3 (www.zanotowane.pl/1025/6283); Weste & Harris 4e ch. 10",
    "skew_fraction": "R: Chinnery & Keutzer 2002 ch. 3 (ASIC clock skew + jitter ~10% of the cycle)",
    "corner_derate": "A: slow-corner sign-off vs typical FO4 delays (assumed 1.3)",
    "sram_access": "fitted on 5 CACTI 45 nm macros (simlow.cost.sram, simlow/data/cost/sram.yaml)",
    "floor": "fitted on TPU v1 700 MHz at 28 nm (arXiv:1704.04760 Table 2); held out: every other chip, "
             "Eyeriss v1 included",
}


def fit_floor(rows=FIT_ROWS) -> float:
    """FLOOR_FO4 that makes a floor-bound design run at the row's clock."""
    ((_, _, hz, node),) = rows
    return 1e12 / hz / CORNER_DERATE / fo4_ps(node)


FLOOR_FO4 = fit_floor()   # the one fitted constant (on FIT_ROWS only)


@dataclass(frozen=True)
class DesignClock:
    clock_Hz: float          # what the design runs at (before any user derate or override)
    fmax_Hz: float           # logic fmax of the unit (simlow.cost.macs: path + bare T_SEQ, no margin)
    logic_cycle_ps: float
    sram_cycle_ps: float
    floor_cycle_ps: float
    bound: str               # "logic", "SRAM access" or "floor"
    vdd_V: float | None = None   # the design's supply (None: the node's nominal)
    logic_stages: int = 1

    @property
    def sram_bound_Hz(self) -> float:
        return 1e12 / self.sram_cycle_ps if self.sram_cycle_ps > 0 else float("inf")

    def to_dict(self) -> dict:
        return {"clock_Hz": self.clock_Hz, "fmax_Hz": self.fmax_Hz, "logic_cycle_ps": self.logic_cycle_ps,
                "sram_cycle_ps": self.sram_cycle_ps, "floor_cycle_ps": self.floor_cycle_ps, "bound": self.bound,
                "vdd_V": self.vdd_V, "logic_stages": self.logic_stages}


def design_clock(path_fo4: float, node_nm: int, sram_access_ps: float = 0.0, vdd_V: float | None = None,
                 logic_stages: int = 1) -> DesignClock:
    """The design clock of a unit whose critical path (``UnitCost.path_fo4``, T_SEQ included) is
    ``path_fo4``, cut into ``logic_stages`` pipeline stages, with SRAM banks whose clock-to-data
    access at nominal supply is ``sram_access_ps`` (0: none), run at ``vdd_V`` (None: nominal)."""
    if isinstance(logic_stages, bool) or not isinstance(logic_stages, int) or logic_stages < 1:
        raise SimlowError(f"logic_stages must be a whole number >= 1, got {logic_stages!r}")
    ratio = 1.0 if vdd_V is None else vdd_delay_ratio(node_nm, vdd_V)
    fo4 = fo4_ps(node_nm) * ratio
    margin = CORNER_DERATE / (1.0 - SKEW_FRACTION)
    logic = ((path_fo4 - D.T_SEQ) / logic_stages + REG_OVERHEAD_FO4) * fo4 * margin
    sram = (sram_access_ps * ratio + REG_OVERHEAD_FO4 * fo4) * margin if sram_access_ps > 0 else 0.0
    floor = FLOOR_FO4 * fo4 * CORNER_DERATE
    cycle, bound = max((logic, "logic"), (sram, "SRAM access"), (floor, "floor"))
    return DesignClock(1e12 / cycle, 1e12 / (path_fo4 * fo4), logic, sram, floor, bound, vdd_V, logic_stages)
