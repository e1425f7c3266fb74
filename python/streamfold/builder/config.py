"""DataflowBuildConfig: FINN's build configuration (same field names), loaded
from JSON or YAML and validated up front, so a typo or a contradiction is a
ConfigError naming the key before any step runs."""
from __future__ import annotations

import dataclasses
import difflib
import json
import os
from dataclasses import dataclass, field
from typing import Any, List, Optional

from ..errors import ConfigError
from .boards import BOARDS, board_for_part, get_board

# FINN's step names, in order (DESIGN §5).
ALL_STEPS = [
    "step_qonnx_to_finn", "step_tidy_up", "step_streamline", "step_convert_to_hw",
    "step_create_dataflow_partition", "step_specialize_layers", "step_target_fps_parallelization",
    "step_apply_folding_config", "step_minimize_bit_width", "step_generate_estimate_reports",
    "step_hw_codegen", "step_hw_ipgen", "step_set_fifo_depths", "step_create_stitched_ip",
    "step_measure_rtlsim_performance", "step_out_of_context_synthesis", "step_synthesize_bitfile",
    "step_make_pynq_driver", "step_deployment_package",
]
AVAILABLE_STEPS = list(ALL_STEPS)
DEFAULT_BUILD_STEPS = list(AVAILABLE_STEPS)

# FINN's DataflowOutputType values. out_of_context_synth is, in this version,
# Yosys synthesis of every layer (report/ooc_synth_and_timing.json, tool named).
OUTPUT_TYPES = ["estimate_reports", "stitched_ip", "rtlsim_performance", "out_of_context_synth", "bitfile",
                "pynq_driver", "deployment_package"]
AVAILABLE_OUTPUTS = list(OUTPUT_TYPES)

# FINN's VerificationStepType values -> the step after which they run.
VERIFY_STEP_ALIASES = {"finn_onnx_python": "step_qonnx_to_finn", "initial_python": "step_tidy_up",
                       "streamlined_python": "step_streamline", "folded_hls_cppsim": "step_apply_folding_config",
                       "node_by_node_rtlsim": "step_hw_ipgen", "stitched_ip_rtlsim": "step_create_stitched_ip"}
SHELL_FLOWS = ["vivado_zynq", "vitis_alveo"]
FIFO_STRATEGIES = ["largefifo_rtlsim", "characterize"]


@dataclass
class DataflowBuildConfig:
    output_dir: str
    synth_clk_period_ns: float = 10.0
    board: Optional[str] = None
    fpga_part: Optional[str] = None
    shell_flow_type: Optional[str] = None
    generate_outputs: List[str] = field(default_factory=lambda: ["estimate_reports"])
    folding_config_file: Optional[str] = None
    # FINN's: JSON {"Defaults": {"preferred_impl_style": [value, ["all"] or [op types], ...]},
    # "<node>": {"preferred_impl_style": "hls" | "rtl"}}, applied by step_specialize_layers.
    specialize_layers_config_file: Optional[str] = None
    target_fps: Optional[float] = None
    mvau_wwidth_max: int = 36  # FINN's default
    steps: Optional[List[Any]] = None
    start_step: Optional[str] = None
    stop_step: Optional[str] = None
    save_intermediate_models: bool = True
    verify_steps: List[str] = field(default_factory=list)
    verify_input_npy: str = "input.npy"
    verify_expected_output_npy: str = "expected_output.npy"
    # streamfold extension: share of the board SetFolding may fill (the rest
    # is left for the shell, FIFOs and width converters).
    folding_resource_fraction: float = 0.85
    # streamfold extension: layers that compute on the raw float input (no
    # input quantizer in front of them) stay on the host; the dataflow
    # partition starts after them. Off by default: step_streamline then
    # refuses them with a StreamlineError saying so.
    host_float_layers: bool = False
    # FIFO sizing and the stitched design (FINN's keys and defaults, except
    # auto_fifo_strategy: FINN's largefifo_rtlsim gives the same depths, from a
    # Verilator build and simulation instead of the layers' schedule models).
    auto_fifo_depths: bool = True
    auto_fifo_strategy: str = "characterize"
    large_fifo_mem_style: str = "auto"
    default_swg_exception: bool = False
    split_large_fifos: bool = False
    rtlsim_batch_size: int = 1

    # ---- loading --------------------------------------------------------
    @classmethod
    def from_dict(cls, d, base_dir=None, output_dir=None):
        """output_dir, when given, overrides (or supplies) the config's own:
        `streamfold build -o DIR` may go with a config that has none."""
        if not isinstance(d, dict):
            raise ConfigError("a build config must be a mapping of keys to values",
                              hint="e.g. {\"output_dir\": \"build\", \"board\": \"Pynq-Z2\", \"target_fps\": 1000}")
        names = [f.name for f in dataclasses.fields(cls)]
        for k in d:
            if k not in names:
                close = difflib.get_close_matches(k, names, n=1)
                raise ConfigError(f"unknown build config key {k!r}", key=k,
                                  hint=f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(names)}")
        d = dict(d)
        if output_dir is not None:
            d["output_dir"] = os.fspath(output_dir)
        if "output_dir" not in d:
            raise ConfigError("the build config has no output_dir",
                              hint="add \"output_dir\": \"build\", or pass --output-dir/-o on the command line",
                              key="output_dir")
        if base_dir:  # relative paths in a config file are relative to the file
            for k in ("folding_config_file", "specialize_layers_config_file", "verify_input_npy",
                      "verify_expected_output_npy"):
                if isinstance(d.get(k), str) and not os.path.isabs(d[k]):
                    d[k] = os.path.join(base_dir, d[k])
        return cls(**d)

    @classmethod
    def from_file(cls, path, output_dir=None):
        """Load from .json, .yaml or .yml; output_dir as in from_dict."""
        path = os.fspath(path)
        try:
            with open(path) as f:
                text = f.read()
        except OSError as e:
            raise ConfigError(f"cannot read build config {path!r}: {e}", hint="check the path", key="config")
        try:
            if path.endswith((".yaml", ".yml")):
                import yaml

                d = yaml.safe_load(text)
            else:
                d = json.loads(text)
        except Exception as e:  # json.JSONDecodeError / yaml.YAMLError
            raise ConfigError(f"build config {path!r} does not parse: {e}", hint="fix the syntax", key="config")
        return cls.from_dict(d, base_dir=os.path.dirname(os.path.abspath(path)), output_dir=output_dir)

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["steps"] = [s if isinstance(s, str) else getattr(s, "__name__", repr(s)) for s in self.resolved_steps()]
        return d

    # ---- derived --------------------------------------------------------
    def resolved_steps(self):
        return list(self.steps) if self.steps is not None else list(DEFAULT_BUILD_STEPS)

    def resolved_board(self):
        """The Board (for the resource budget), from board or fpga_part."""
        if self.board:
            return get_board(self.board)
        return board_for_part(self.fpga_part) if self.fpga_part else None

    def resolved_fpga_part(self):
        b = self.resolved_board()
        return self.fpga_part or (b.part if b else None)

    def verify_after(self):
        """{step name: verify label} for verify_steps (FINN names or step names)."""
        out = {}
        for v in self.verify_steps:
            out[VERIFY_STEP_ALIASES.get(v, v)] = v
        return out

    def _step_name(self, s):
        return s if isinstance(s, str) else getattr(s, "__name__", repr(s))

    # ---- validation -----------------------------------------------------
    def validate(self):
        """Raise ConfigError naming the first bad key; run before any work."""
        if not isinstance(self.output_dir, (str, os.PathLike)) or not os.fspath(self.output_dir):
            raise ConfigError("output_dir must be a folder path", hint="e.g. \"build\"", key="output_dir")
        if not isinstance(self.synth_clk_period_ns, (int, float)) or self.synth_clk_period_ns <= 0:
            raise ConfigError(f"synth_clk_period_ns = {self.synth_clk_period_ns!r} must be > 0",
                              hint="10.0 is 100 MHz", key="synth_clk_period_ns")
        b = get_board(self.board) if self.board else None
        if b and self.fpga_part and self.fpga_part != b.part:
            raise ConfigError(f"board {b.name} has part {b.part}, but fpga_part is {self.fpga_part}",
                              hint="drop fpga_part (the board implies it) or fix it", key="fpga_part")
        if not b and not self.fpga_part:
            raise ConfigError("neither board nor fpga_part is set", key="board",
                              hint=f"set board to one of: {', '.join(BOARDS)}")
        if self.shell_flow_type is not None:
            if self.shell_flow_type not in SHELL_FLOWS:
                raise ConfigError(f"shell_flow_type {self.shell_flow_type!r} is not one of {SHELL_FLOWS}",
                                  hint="vivado_zynq for Zynq boards, vitis_alveo for Alveo", key="shell_flow_type")
            if b and b.shell != self.shell_flow_type:
                raise ConfigError(f"board {b.name} uses shell_flow_type {b.shell!r}, not {self.shell_flow_type!r}",
                                  hint=f"set shell_flow_type to {b.shell!r} or drop it", key="shell_flow_type")
        for o in self.generate_outputs or []:
            if o not in OUTPUT_TYPES:
                close = difflib.get_close_matches(str(o), OUTPUT_TYPES, n=1)
                raise ConfigError(f"unknown generate_outputs entry {o!r}", key="generate_outputs",
                                  hint=f"did you mean {close[0]!r}?" if close else f"known: {', '.join(OUTPUT_TYPES)}")
            if o not in AVAILABLE_OUTPUTS:
                raise ConfigError(f"generate_outputs {o!r} is not yet available in this version",
                                  hint=f"available: {', '.join(AVAILABLE_OUTPUTS)}", key="generate_outputs")
        steps = self.resolved_steps()
        names = [self._step_name(s) for s in steps]
        for s, n in zip(steps, names):
            if isinstance(s, str) and s not in ALL_STEPS:
                close = difflib.get_close_matches(s, ALL_STEPS, n=1)
                raise ConfigError(f"unknown build step {s!r}", key="steps",
                                  hint=f"did you mean {close[0]!r}?" if close else "see config.ALL_STEPS")
            if isinstance(s, str) and s not in AVAILABLE_STEPS:
                raise ConfigError(f"build step {s!r} is not yet available in this version", key="steps",
                                  hint=f"stop at step_generate_estimate_reports; available: "
                                  f"{', '.join(AVAILABLE_STEPS)}")
            if not isinstance(s, str) and not callable(s):
                raise ConfigError(f"steps entry {s!r} is neither a step name nor callable", key="steps",
                                  hint="use FINN step names or functions f(model, cfg) -> model")
        for k in ("start_step", "stop_step"):
            v = getattr(self, k)
            if v is not None and v not in names:
                close = difflib.get_close_matches(v, names, n=1)
                raise ConfigError(f"{k} {v!r} is not one of the build's steps", key=k,
                                  hint=f"did you mean {close[0]!r}?" if close else f"steps: {', '.join(names)}")
        if self.start_step and self.stop_step and names.index(self.start_step) > names.index(self.stop_step):
            raise ConfigError(f"start_step {self.start_step!r} comes after stop_step {self.stop_step!r}",
                              hint="swap them", key="start_step")
        folds = {"step_target_fps_parallelization", "step_apply_folding_config"} & set(names)
        if folds and not self.folding_config_file and self.target_fps is None:
            raise ConfigError("no folding: neither folding_config_file nor target_fps is set",
                              hint="set target_fps (automatic folding) or folding_config_file (FINN JSON)",
                              key="folding_config_file")
        if self.folding_config_file and not os.path.isfile(self.folding_config_file):
            raise ConfigError(f"folding_config_file {self.folding_config_file!r} does not exist",
                              hint="check the path (relative paths are relative to the config file)",
                              key="folding_config_file")
        if self.specialize_layers_config_file and not os.path.isfile(self.specialize_layers_config_file):
            raise ConfigError(f"specialize_layers_config_file {self.specialize_layers_config_file!r} does not exist",
                              hint="check the path (relative paths are relative to the config file)",
                              key="specialize_layers_config_file")
        if self.target_fps is not None:
            if isinstance(self.target_fps, bool) or not isinstance(self.target_fps, (int, float)) \
                    or self.target_fps <= 0:
                raise ConfigError(f"target_fps = {self.target_fps!r} must be a number > 0",
                                  hint="frames per second, e.g. 1000", key="target_fps")
            if "step_target_fps_parallelization" in names and self.resolved_board() is None:
                raise ConfigError(f"fpga_part {self.fpga_part!r} has no known resource budget for target_fps",
                                  hint=f"set board to one of: {', '.join(BOARDS)}", key="fpga_part")
        if not isinstance(self.mvau_wwidth_max, int) or self.mvau_wwidth_max < 1:
            raise ConfigError(f"mvau_wwidth_max = {self.mvau_wwidth_max!r} must be a positive integer",
                              hint="FINN's default is 36", key="mvau_wwidth_max")
        if not isinstance(self.host_float_layers, bool):
            raise ConfigError(f"host_float_layers = {self.host_float_layers!r} must be true or false",
                              hint="true keeps float-input first layers on the host", key="host_float_layers")
        if not 0 < self.folding_resource_fraction <= 1:
            raise ConfigError("folding_resource_fraction must be in (0, 1]", hint="e.g. 0.85",
                              key="folding_resource_fraction")
        if self.auto_fifo_strategy not in FIFO_STRATEGIES:
            raise ConfigError(f"auto_fifo_strategy {self.auto_fifo_strategy!r} is not one of {FIFO_STRATEGIES}",
                              hint="largefifo_rtlsim sizes FIFOs in a stitched simulation; characterize "
                                   "composes the layers' schedule models in well under a second",
                              key="auto_fifo_strategy")
        if self.large_fifo_mem_style not in ("auto", "block", "distributed", "ultra"):
            raise ConfigError(f"large_fifo_mem_style {self.large_fifo_mem_style!r} is not auto, block, distributed "
                              "or ultra", hint="auto puts FIFOs deeper than 256 into block RAM",
                              key="large_fifo_mem_style")
        if isinstance(self.rtlsim_batch_size, bool) or not isinstance(self.rtlsim_batch_size, int) \
                or self.rtlsim_batch_size < 1:
            raise ConfigError(f"rtlsim_batch_size = {self.rtlsim_batch_size!r} must be an integer >= 1",
                              hint="frames simulated by step_measure_rtlsim_performance", key="rtlsim_batch_size")
        for v in self.verify_steps or []:
            if v in VERIFY_STEP_ALIASES and VERIFY_STEP_ALIASES[v] is None:
                raise ConfigError(f"verify step {v!r} is not yet available in this version", key="verify_steps",
                                  hint="use finn_onnx_python, initial_python, streamlined_python or a step name")
            if v not in VERIFY_STEP_ALIASES and v not in names:
                raise ConfigError(f"verify_steps entry {v!r} is neither a FINN verification step nor a build step",
                                  key="verify_steps", hint=f"known: {', '.join(VERIFY_STEP_ALIASES)}")
        if self.verify_steps:
            for k in ("verify_input_npy", "verify_expected_output_npy"):
                if not os.path.isfile(getattr(self, k)):
                    raise ConfigError(f"{k} {getattr(self, k)!r} does not exist (needed by verify_steps)", key=k,
                                      hint="save the arrays with np.save, or drop verify_steps")
        return self


__all__ = ["DataflowBuildConfig", "ALL_STEPS", "AVAILABLE_STEPS", "DEFAULT_BUILD_STEPS", "OUTPUT_TYPES"]
