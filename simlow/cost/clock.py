"""The clock a whole design closes timing at, against the logic fmax of one unit.

``simlow.cost.macs`` gives a unit's critical path in FO4 (``simlow.cost.delay``) with a
bare 3 FO4 sequencing term and no margin: its ``fmax_Hz`` is the *logic fmax*. A taped-out
design runs far slower (TPU v1: 700 MHz at 28 nm against a 3.2 GHz INT8 logic fmax). The
design cycle here is

    logic cycle = (path FO4 - T_SEQ + REG_OVERHEAD_FO4) x FO4(node) / (1 - SKEW_FRACTION) x CORNER_DERATE
    array floor = ARRAY_FLOOR_FO4 x FO4(node) x CORNER_DERATE
    cycle       = max(logic cycle, array floor)

- ``REG_OVERHEAD_FO4`` = 4: clock-to-Q + setup of a standard-cell flip-flop (R: Chinnery &
  Keutzer, "Closing the Gap Between ASIC & Custom", Kluwer 2002, ch. 3 "Reducing the timing
  overhead: clock skew, register overhead, latches vs flip-flops", copy at
  www.zanotowane.pl/1025/6283; Weste & Harris, "CMOS VLSI Design" 4th ed., ch. 10
  sequencing overhead; the value is recalled, not re-read);
- ``SKEW_FRACTION`` = 0.10: clock skew + jitter budget as a share of the cycle in an ASIC
  clock tree (R, same chapter; recalled);
- ``CORNER_DERATE`` = 1.3: sign-off at the slow corner (slow-slow, low Vdd, hot) against
  the typical-corner delays the FO4 model stands for (A: assumed; Chinnery & Keutzer ch. 1
  discuss worst-case vs typical speed binning as one of the ASIC/custom gaps, no figure
  re-read here);
- ``ARRAY_FLOOR_FO4``: FITTED on one row, TPU v1 700 MHz at 28 nm (Jouppi et al. ISCA 2017,
  arXiv:1704.04760 Table 2): 1 / 700 MHz / (FO4(28 nm) x CORNER_DERATE) = 104 FO4. It stands
  for whatever set the clock of a large MAC array with SRAM macros below the logic fmax:
  the SRAM macro access + setup, wires across the array, and the designer's power-driven
  choice. It is *not* a measured SRAM access time (no compiler datasheet was found), and
  because it is counted in FO4 it scales with the FO4 delay of the node (an assumption the
  held-out chips test: ``simlow cost validate``).
"""

from __future__ import annotations

from dataclasses import dataclass

from simlow.cost import delay as D
from simlow.cost.scaling import fo4_ps

REG_OVERHEAD_FO4 = 4.0
SKEW_FRACTION = 0.10
CORNER_DERATE = 1.3
FIT_ROW = ("TPUv1", "clock", 700e6, 28)   # chip, figure, Hz, node: the one row ARRAY_FLOOR_FO4 is fitted on
SOURCES = {
    "reg_overhead_fo4": "R: Chinnery & Keutzer 2002 ch. 3 (www.zanotowane.pl/1025/6283); Weste & Harris 4e ch. 10",
    "skew_fraction": "R: Chinnery & Keutzer 2002 ch. 3 (ASIC clock skew + jitter ~10% of the cycle)",
    "corner_derate": "A: slow-corner sign-off vs typical FO4 delays (assumed 1.3)",
    "array_floor_fo4": "fitted on TPU v1 700 MHz at 28 nm (arXiv:1704.04760 Table 2); held out: every other chip",
}


def fit_array_floor_fo4(clock_Hz: float = FIT_ROW[2], node_nm: int = FIT_ROW[3]) -> float:
    """The floor in FO4 that makes a floor-bound design at ``node_nm`` run at ``clock_Hz``."""
    return 1e12 / clock_Hz / (fo4_ps(node_nm) * CORNER_DERATE)


ARRAY_FLOOR_FO4 = fit_array_floor_fo4()   # 104.1 FO4: the one fitted constant (on FIT_ROW only)


@dataclass(frozen=True)
class DesignClock:
    clock_Hz: float          # what the design runs at (before any user derate or override)
    fmax_Hz: float           # logic fmax of the unit (simlow.cost.macs: path + bare T_SEQ, no margin)
    logic_cycle_ps: float
    floor_cycle_ps: float
    bound: str               # "logic" or "array floor"

    def to_dict(self) -> dict:
        return {"clock_Hz": self.clock_Hz, "fmax_Hz": self.fmax_Hz, "logic_cycle_ps": self.logic_cycle_ps,
                "floor_cycle_ps": self.floor_cycle_ps, "bound": self.bound}


def design_clock(path_fo4: float, node_nm: int) -> DesignClock:
    """The design clock of a unit whose critical path (``UnitCost.path_fo4``, T_SEQ included) is ``path_fo4``."""
    fo4 = fo4_ps(node_nm)
    logic = (path_fo4 - D.T_SEQ + REG_OVERHEAD_FO4) * fo4 / (1.0 - SKEW_FRACTION) * CORNER_DERATE
    floor = ARRAY_FLOOR_FO4 * fo4 * CORNER_DERATE
    cycle = max(logic, floor)
    return DesignClock(1e12 / cycle, 1e12 / (path_fo4 * fo4), logic, floor, "logic" if logic >= floor else "array floor")
