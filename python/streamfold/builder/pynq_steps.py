"""FINN's last two build steps: step_make_pynq_driver (the driver files) and
step_deployment_package (what goes onto the board), laid out as FINN does:

  <output_dir>/driver/{driver.py, driver_base.py, validate.py, runtime_weights/}
  <output_dir>/deploy/bitfile/finn-accel.{bit,hwh}   (when Vivado made them)
  <output_dir>/deploy/driver/                         (a copy of driver/)

The driver's default --bitfile is ../bitfile/finn-accel.bit relative to its
own folder, i.e. the bitfile the package ships (FINN's template defaults to
resizer.bit in the working directory, which its package does not contain).
"""
from __future__ import annotations

import os
import shutil
import tempfile

from ..errors import StreamfoldError

DRIVER_OUTPUTS = {"pynq_driver", "deployment_package"}


def _wanted(cfg, outputs):
    if cfg is None or cfg.steps is not None:  # called directly, or steps listed explicitly
        return True
    return bool(outputs & set(cfg.generate_outputs or []))


def _out_dir(cfg, prefix):
    if cfg is None:
        return tempfile.mkdtemp(prefix=prefix)
    return os.path.abspath(os.fspath(cfg.output_dir))


def _replace_dir(tmp, final):
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)


def step_make_pynq_driver(model, cfg=None, verify_inputs=None):
    """driver.py (io_shape_dict, command line), driver_base.py
    (FINNExampleOverlay, packer inlined), validate.py (Fashion-MNIST) and
    runtime_weights/<dma>.npy for external weights, in <output_dir>/driver;
    recorded in the model's pynq_driver_dir metadata, as in FINN."""
    from ..driver.make import write_driver
    from .hw_steps import stitched_dir
    from .system import dma_plan

    if not _wanted(cfg, DRIVER_OUTPUTS):
        model._step_note = "skipped: generate_outputs asks for neither pynq_driver nor deployment_package"
        return model
    d = stitched_dir(model)
    if d is None:
        raise StreamfoldError("the model has no stitched design to write a driver for",
                              hint="run step_create_stitched_ip first (generate_outputs: stitched_ip)")
    plan = dma_plan(model, d)
    root = _out_dir(cfg, "streamfold_driver_")
    out = os.path.join(root, "driver")
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    clk = cfg.synth_clk_period_ns if cfg is not None else float(model.get_metadata_prop("clk_ns") or 10.0)
    name = model.graph.name or "accelerator"
    shapes = write_driver(tmp, plan, model_name=name, fclk_mhz=1000.0 / clk, base_dir=d)
    _replace_dir(tmp, out)
    model.set_metadata_prop("pynq_driver_dir", out)
    ins = ", ".join(f"{n} {dt} {s}" for n, dt, s in zip(shapes["input_dma_name"], shapes["idt"],
                                                        shapes["ishape_normal"]))
    outs = ", ".join(f"{n} {dt} {s}" for n, dt, s in zip(shapes["output_dma_name"], shapes["odt"],
                                                         shapes["oshape_normal"]))
    note = f"{out}: in {ins}; out {outs}"
    if shapes["number_of_external_weights"]:
        note += f"; {shapes['number_of_external_weights']} external weight DMA(s) in runtime_weights/"
    model._step_note = note
    return model


def step_deployment_package(model, cfg=None, verify_inputs=None):
    """<output_dir>/deploy with bitfile/ (finn-accel.bit and .hwh, when
    step_synthesize_bitfile ran Vivado) and driver/ (the driver files)."""
    if not _wanted(cfg, {"deployment_package"}):
        model._step_note = "skipped: generate_outputs does not ask for deployment_package"
        return model
    drv = model.get_metadata_prop("pynq_driver_dir")
    if not drv or not os.path.isfile(os.path.join(drv, "driver.py")):
        raise StreamfoldError("the model has no PYNQ driver to package",
                              hint="run step_make_pynq_driver first (generate_outputs: pynq_driver)")
    root = _out_dir(cfg, "streamfold_deploy_")
    deploy = os.path.join(root, "deploy")
    os.makedirs(deploy, exist_ok=True)
    # bitfile/: what Vivado made (FINN copies the bitfile folder's .bit and .hwh)
    src_bit = os.path.join(root, "bitfile")
    bit_tmp = os.path.join(deploy, "bitfile.tmp")
    shutil.rmtree(bit_tmp, ignore_errors=True)
    os.makedirs(bit_tmp)
    have = []
    for f in ("finn-accel.bit", "finn-accel.hwh"):
        if os.path.isfile(os.path.join(src_bit, f)):
            shutil.copy2(os.path.join(src_bit, f), os.path.join(bit_tmp, f))
            have.append(f)
    _replace_dir(bit_tmp, os.path.join(deploy, "bitfile"))
    drv_tmp = os.path.join(deploy, "driver.tmp")
    shutil.rmtree(drv_tmp, ignore_errors=True)
    shutil.copytree(drv, drv_tmp, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "nw_metrics.txt"))
    _replace_dir(drv_tmp, os.path.join(deploy, "driver"))
    model.set_metadata_prop("deployment_dir", deploy)
    if len(have) == 2:
        note = f"{deploy}: bitfile/finn-accel.bit + .hwh, driver/"
    else:
        script = os.path.join(src_bit, "make_bitfile.sh")
        note = (f"{deploy}: driver/ only, no bitfile (Vivado did not run"
                + (f"; {script} makes it, then run this step again)" if os.path.isfile(script) else ")")
                + "; the driver runs without a board: python driver.py --platform sim")
    model._step_note = note
    return model


__all__ = ["step_make_pynq_driver", "step_deployment_package"]
