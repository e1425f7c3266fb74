"""FPGA boards streamfold targets: part number and resource budget.

Pynq-Z1/Z2 figures are from DESIGN §5 (xc7z020 datasheet). The other boards'
counts are recalled from the Xilinx product tables and are APPROXIMATE: they
are used only to keep SetFolding's parallelism within a plausible budget,
never for anything that must be exact. BRAM is counted in BRAM18 halves
(1 BRAM36 = 2 BRAM18), the unit the cost models report.
"""
from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from typing import Optional

from ..errors import ConfigError


@dataclass(frozen=True)
class Board:
    name: str
    part: str
    lut: int
    ff: int
    bram18: int
    uram: int
    dsp: int
    shell: str = "vivado_zynq"  # FINN's shell_flow_type for this board
    approximate: bool = True
    # The Zynq system (DESIGN §7.6, builder/vivado.py). board_part is the
    # Vivado board file id; the processing system takes the board file's
    # preset (DDR, MIO, clocks), so a board without one cannot get a block
    # design. ps: "ps7" (Zynq-7000, processing_system7) or "ps8" (Zynq
    # UltraScale+, zynq_ultra_ps_e); None for boards without an ARM (Alveo).
    board_part: Optional[str] = None
    ps: Optional[str] = None
    # Extra board-file connections some SOM boards need (KV260's carrier).
    board_connections: Optional[str] = None
    # Where board files not shipped with Vivado come from (told when missing).
    board_files_hint: Optional[str] = None

    def budget(self, fraction=1.0):
        """Resources available to the dataflow design, as {LUT, FF, BRAM_18K, URAM, DSP}."""
        return {"LUT": self.lut * fraction, "FF": self.ff * fraction, "BRAM_18K": self.bram18 * fraction,
                "URAM": self.uram * fraction, "DSP": self.dsp * fraction}

    def as_dict(self):
        return asdict(self)


_Z7020 = dict(part="xc7z020clg400-1", lut=53_200, ff=106_400, bram18=280, uram=0, dsp=220, approximate=False,
              ps="ps7")
# Board files for the PYNQ boards are not in a stock Vivado; the Vivado board
# store (Tools > Vivado Store > Boards, or xhub::install in TCL) and the board
# vendors' downloads have them.
_PYNQ_HINT = ("install the board files (Vivado Store > Boards, or the vendor's board-file download) and point "
              "STREAMFOLD_BOARD_REPO at the folder that holds them")

BOARDS = {
    "Pynq-Z1": Board("Pynq-Z1", **_Z7020, board_part="www.digilentinc.com:pynq-z1:part0:1.0",
                     board_files_hint=_PYNQ_HINT),
    "Pynq-Z2": Board("Pynq-Z2", **_Z7020, board_part="tul.com.tw:pynq-z2:part0:1.0", board_files_hint=_PYNQ_HINT),
    # Zynq UltraScale+ ZU3EG: ~70.6k LUT, 216 BRAM36, 360 DSP, no URAM.
    "Ultra96": Board("Ultra96", "xczu3eg-sbva484-1-e", 70_560, 141_120, 432, 0, 360,
                     board_part="avnet.com:ultra96v1:part0:1.2", ps="ps8", board_files_hint=_PYNQ_HINT),
    # ZU7EV: ~230k LUT, 312 BRAM36, 96 URAM, 1728 DSP.
    "ZCU104": Board("ZCU104", "xczu7ev-ffvc1156-2-e", 230_400, 460_800, 624, 96, 1_728,
                    board_part="xilinx.com:zcu104:part0:1.1", ps="ps8"),
    # ZU9EG: ~274k LUT, 912 BRAM36, 2520 DSP.
    "ZCU102": Board("ZCU102", "xczu9eg-ffvb1156-2-e", 274_080, 548_160, 1_824, 0, 2_520,
                    board_part="xilinx.com:zcu102:part0:3.3", ps="ps8"),
    # K26 SOM: ~117k LUT, 144 BRAM36, 64 URAM, 1248 DSP. The SOM's board file
    # needs the KV260 carrier card connected to it.
    "KV260": Board("KV260", "xck26-sfvc784-2LV-c", 117_120, 234_240, 288, 64, 1_248,
                   board_part="xilinx.com:kv260_som:part0:1.3", ps="ps8",
                   board_connections="som240_1_connector xilinx.com:kv260_carrier:som240_1_connector:1.3"),
    # Alveo U250: ~1.73M LUT, 2688 BRAM36, 1280 URAM, 12288 DSP.
    "U250": Board("U250", "xcu250-figd2104-2L-e", 1_728_000, 3_456_000, 5_376, 1_280, 12_288, shell="vitis_alveo"),
}

# Parts that appear on no board above but may be named as fpga_part alone.
_PART_TO_BOARD = {b.part: b for b in BOARDS.values()}


def get_board(name, key="board"):
    """The Board called `name` (case-insensitive); ConfigError with a
    did-you-mean otherwise."""
    for k, b in BOARDS.items():
        if k.lower() == str(name).lower():
            return b
    close = difflib.get_close_matches(str(name), list(BOARDS), n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(f"unknown board {name!r}", hint=hint + f"known boards: {', '.join(BOARDS)}", key=key)


def board_for_part(part):
    """The board whose part is `part`, or None (a bare part has no known budget)."""
    return _PART_TO_BOARD.get(part)


__all__ = ["Board", "BOARDS", "get_board", "board_for_part"]
