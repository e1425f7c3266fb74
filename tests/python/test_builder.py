"""The builder: DataflowBuildConfig validation (keys named, before any work),
build outputs present and well-formed on hand-built HW graphs, resume,
verification, not-yet-available steps, the CLI, and (once ConvertToHW exists)
tfc_w1a1 end to end."""
import json
import os

import numpy as np
import pytest

import streamfold as sf
from streamfold import _core
from streamfold.builder import DataflowBuildConfig, build_dataflow_cfg
from streamfold.builder.config import ALL_STEPS

from test_folding import example_input, mvau_chain

HW_STEPS = ["step_specialize_layers", "step_target_fps_parallelization", "step_apply_folding_config",
            "step_minimize_bit_width", "step_generate_estimate_reports"]


@pytest.fixture
def model_file(tmp_path):
    p = tmp_path / "hw.onnx"
    sf.ModelWrapper(mvau_chain()).save(str(p))
    return str(p)


def cfg(tmp_path, **kw):
    d = dict(output_dir=str(tmp_path / "out"), board="Pynq-Z2", target_fps=1e6, steps=HW_STEPS, mvau_wwidth_max=1024)
    d.update(kw)
    return DataflowBuildConfig(**d)


@pytest.mark.parametrize("kw,key,text", [
    (dict(fpga_part="xczu3eg-sbva484-1-e"), "fpga_part", "Pynq-Z2 has part xc7z020clg400-1"),
    (dict(board="Pynq-Z3"), "board", "did you mean 'Pynq-Z2'"),
    (dict(board=None), "board", "neither board nor fpga_part"),
    (dict(target_fps=None), "folding_config_file", "neither folding_config_file nor target_fps"),
    (dict(target_fps=-5), "target_fps", "> 0"),
    (dict(folding_config_file="/nonexistent.json"), "folding_config_file", "does not exist"),
    (dict(steps=["step_tidy_upp"]), "steps", "did you mean 'step_tidy_up'"),
    (dict(stop_step="step_streamline"), "stop_step", "not one of the build's steps"),
    (dict(start_step="step_generate_estimate_reports", stop_step="step_specialize_layers"), "start_step", "after"),
    (dict(generate_outputs=["estimate_report"]), "generate_outputs", "did you mean"),
    (dict(shell_flow_type="vitis_alveo"), "shell_flow_type", "vivado_zynq"),
    (dict(synth_clk_period_ns=0), "synth_clk_period_ns", "> 0"),
    (dict(specialize_layers_config_file="/nonexistent.json"), "specialize_layers_config_file", "does not exist"),
    (dict(verify_steps=["initial_python"], verify_input_npy="/nope.npy"), "verify_input_npy", "does not exist"),
])
def test_config_validation_names_key(tmp_path, model_file, kw, key, text):
    c = cfg(tmp_path, **kw)
    with pytest.raises(sf.ConfigError) as e:
        build_dataflow_cfg(model_file, c, progress=False)
    assert e.value.key == key, str(e.value)
    assert text in str(e.value)
    assert not (tmp_path / "out").exists()  # refused before any work


def test_config_from_json_and_yaml(tmp_path):
    (tmp_path / "fold.json").write_text("{}")
    (tmp_path / "c.json").write_text(json.dumps({"output_dir": "o", "board": "ZCU104",
                                                 "folding_config_file": "fold.json"}))
    c = DataflowBuildConfig.from_file(tmp_path / "c.json").validate()
    assert c.folding_config_file == str(tmp_path / "fold.json") and c.resolved_fpga_part() == "xczu7ev-ffvc1156-2-e"
    (tmp_path / "c.yaml").write_text("output_dir: o\nboard: KV260\ntarget_fps: 100\nsynth_clk_period_ns: 5\n")
    c = DataflowBuildConfig.from_file(tmp_path / "c.yaml").validate()
    assert c.target_fps == 100 and c.synth_clk_period_ns == 5
    (tmp_path / "bad.yaml").write_text("output_dir: o\nboard: KV260\ntarget_fsp: 100\n")
    with pytest.raises(sf.ConfigError) as e:
        DataflowBuildConfig.from_file(tmp_path / "bad.yaml")
    assert e.value.key == "target_fsp" and "did you mean 'target_fps'" in str(e.value)


def check_outputs(out, steps):
    for s in steps:
        assert (out / "intermediate_models" / f"{s}.onnx").is_file()
    times = json.loads((out / "time_per_step.json").read_text())
    assert list(times) == steps
    cycles = json.loads((out / "report" / "estimate_layer_cycles.json").read_text())
    res = json.loads((out / "report" / "estimate_layer_resources.json").read_text())
    perf = json.loads((out / "report" / "estimate_network_performance.json").read_text())
    ops = json.loads((out / "report" / "op_and_param_counts.json").read_text())
    assert set(cycles) == {"MVAU_0", "MVAU_1", "MVAU_2"}
    assert set(res) == set(cycles) | {"total"}
    assert set(res["total"]) == {"LUT", "FF", "BRAM_18K", "URAM", "DSP"}
    assert set(perf) == {"critical_path_cycles", "max_cycles", "max_cycles_node_name", "estimated_throughput_fps",
                         "estimated_latency_ns"}
    assert perf["max_cycles"] == max(cycles.values())
    assert "total" in ops
    hw = json.loads((out / "final_hw_config.json").read_text())
    assert set(hw) == {"Defaults"} | set(cycles)
    assert (out / "build.log").read_text().count("done in") >= len(steps)
    assert not [f for f in out.rglob(".tmp_*")]  # no half-written temp files left
    return perf, hw


def test_build_target_fps(tmp_path, model_file):
    s = build_dataflow_cfg(model_file, cfg(tmp_path), progress=False)
    perf, hw = check_outputs(tmp_path / "out", HW_STEPS)
    assert s["folding"].met and perf["estimated_throughput_fps"] >= 1e6
    assert all(hw[n]["preferred_impl_style"] == "rtl" for n in ("MVAU_0", "MVAU_1"))  # RTL is the primary back end
    assert (tmp_path / "out" / "auto_folding_config.json").is_file()
    m = sf.ModelWrapper(str(tmp_path / "out" / "intermediate_models" / "step_minimize_bit_width.onnx"))
    assert m.graph.node[0].get_attr("weightDataType") in (b"INT2", "INT2")


def test_build_folding_file_resume_and_verify(tmp_path, model_file):
    fold = tmp_path / "fold.json"
    fold.write_text(json.dumps({"MVAU_0": {"PE": 4, "SIMD": 8}, "MVAU_1": {"PE": 2, "SIMD": 2}}))
    x = example_input()
    np.save(tmp_path / "in.npy", x)
    np.save(tmp_path / "exp.npy", sf.execute_onnx(sf.ModelWrapper(model_file), {"x": x})["y"])
    c = cfg(tmp_path, target_fps=None, folding_config_file=str(fold), verify_steps=["step_minimize_bit_width"],
            verify_input_npy=str(tmp_path / "in.npy"), verify_expected_output_npy=str(tmp_path / "exp.npy"))
    s = build_dataflow_cfg(model_file, c, progress=True)
    assert s["verification"] == [{"step": "step_minimize_bit_width", "result": "SUCCESS"}]
    perf, hw = check_outputs(tmp_path / "out", HW_STEPS)
    assert hw["MVAU_0"]["PE"] == 4 and hw["MVAU_0"]["SIMD"] == 8
    assert perf["max_cycles"] == 160  # MVAU_2 left unfolded is the slowest (16*10)
    # Resume at the reports from the saved intermediate model, with another clock.
    c2 = cfg(tmp_path, target_fps=None, folding_config_file=str(fold), synth_clk_period_ns=5.0,
             start_step="step_generate_estimate_reports")
    build_dataflow_cfg("/does/not/matter.onnx", c2, progress=False)
    perf2 = json.loads((tmp_path / "out" / "report" / "estimate_network_performance.json").read_text())
    assert perf2["estimated_throughput_fps"] == pytest.approx(2e8 / 160)


def test_resume_without_saved_model(tmp_path, model_file):
    c = cfg(tmp_path, start_step="step_minimize_bit_width")
    with pytest.raises(sf.ConfigError) as e:
        build_dataflow_cfg(model_file, c, progress=False)
    assert e.value.key == "start_step"


def test_late_steps_say_what_they_need(tmp_path, model_file):
    """The bitfile, driver and package steps on a model without a stitched
    design: a typed error that names the step to run first."""
    from streamfold.builder import steps

    for name in ALL_STEPS[16:]:
        with pytest.raises(sf.StreamfoldError) as e:
            getattr(steps, name)(sf.ModelWrapper(model_file), None)
        assert "first" in (e.value.hint or "") + str(e.value), (name, str(e.value))


def test_cli_build(tmp_path, model_file):
    from streamfold.cli import main

    (tmp_path / "c.json").write_text(json.dumps({"output_dir": "ignored", "board": "Pynq-Z2", "target_fps": 1000,
                                                 "steps": HW_STEPS}))
    out = tmp_path / "cli_out"
    assert main(["build", model_file, "--config", str(tmp_path / "c.json"), "--output-dir", str(out), "-q"]) == 0
    check_outputs(out, HW_STEPS)
    (tmp_path / "bad.json").write_text(json.dumps({"output_dir": "o", "board": "Pynq-Z2"}))
    assert main(["build", model_file, "--config", str(tmp_path / "bad.json")]) == 2


def test_cli_build_output_dir_only_on_command_line(tmp_path, model_file, capsys):
    """-o supplies output_dir when the config has none (issue 16, item 5)."""
    from streamfold.cli import main

    (tmp_path / "c.json").write_text(json.dumps({"board": "Pynq-Z2", "target_fps": 1000, "steps": HW_STEPS}))
    out = tmp_path / "o_only"
    assert main(["build", model_file, "-c", str(tmp_path / "c.json"), "-o", str(out), "-q"]) == 0
    check_outputs(out, HW_STEPS)
    # without -o the missing key is still named, and the hint mentions -o
    assert main(["build", model_file, "-c", str(tmp_path / "c.json"), "-q"]) == 2
    assert "output_dir" in capsys.readouterr().err
    with pytest.raises(sf.ConfigError, match="--output-dir") as e:
        DataflowBuildConfig.from_file(tmp_path / "c.json")
    assert e.value.key == "output_dir"


def test_tfc_w1a1_end_to_end(tmp_path):
    from streamfold import zoo

    path = zoo.export("tfc_w1a1")
    c = DataflowBuildConfig(output_dir=str(tmp_path / "tfc"), board="Pynq-Z2", target_fps=10000,
                            steps=[s for s in ALL_STEPS[:10]])
    s = build_dataflow_cfg(path, c, progress=False)
    perf = json.loads((tmp_path / "tfc" / "report" / "estimate_network_performance.json").read_text())
    assert perf["max_cycles"] > 0
    assert s["folding"].met or s["folding"].limiting_node
    # FINN's flow: later steps work on the dataflow child, the parent is kept
    assert (tmp_path / "tfc" / "intermediate_models" / "dataflow_parent.onnx").exists()
    final = sf.ModelWrapper(tmp_path / "tfc" / "intermediate_models" / "step_generate_estimate_reports.onnx")
    assert all(n.domain.startswith("finn.custom_op.fpgadataflow") for n in final.graph.node)
