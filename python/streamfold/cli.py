"""The `streamfold` command: info, exec (build comes with the builder)."""
from __future__ import annotations

import argparse
import json
import sys


def _cmd_info(args):
    from .analysis import model_summary

    if args.json:
        print(json.dumps(model_summary(args.model), indent=2))
        return 0
    print_model_summary(args.model)
    return 0


def print_model_summary(path):
    """The `streamfold info` table (also used by the demo)."""
    from rich.console import Console
    from rich.table import Table

    from .analysis import model_summary

    s = model_summary(path)
    c = Console()
    c.print(f"[bold]{path}[/bold]  graph '{s['graph']}', {s['nodes']} nodes")
    for kind in ("inputs", "outputs"):
        for v in s[kind]:
            c.print(f"  {kind[:-1]:6} {v['name']}: shape {v['shape']}, {v['datatype']}")
    t = Table(title="ops")
    t.add_column("domain:op_type")
    t.add_column("count", justify="right")
    for k, v in s["ops"].items():
        t.add_row(k, str(v))
    c.print(t)
    c.print(f"  datatypes: {', '.join(f'{k} x{v}' for k, v in s['datatypes'].items())}")
    c.print(f"  parameters: {s['parameters']:,}   MACs/inference: {s['macs']:,}   "
            f"weight memory: {s['weight_bits']:,} bits ({s['weight_bits'] / 8 / 1024:.1f} KiB)")


def _cmd_exec(args):
    import numpy as np

    from . import ModelWrapper, execute_onnx
    from .errors import InputError

    m = ModelWrapper(args.model)
    names = m._model.runtime_input_names()
    inputs = {}
    for spec in args.input:
        name, _, path = spec.rpartition("=")
        if not name:
            if len(names) != 1:
                raise InputError(f"the model has inputs {names}; say which one {path!r} is",
                                 hint="use --input NAME=file.npy")
            name = names[0]
        try:
            inputs[name] = np.load(path)
        except (OSError, ValueError) as e:
            raise InputError(f"cannot read {path!r}: {e}", hint="pass a .npy file written by np.save")
    out = execute_onnx(m, inputs, backend=args.backend)
    if args.output:
        if len(out) == 1:
            np.save(args.output, next(iter(out.values())))
        else:
            np.savez(args.output, **out)
    for k, v in out.items():
        print(f"{k}: shape {v.shape}, dtype {v.dtype}")
        if not args.output:
            print(v)
    return 0


def _cmd_build(args):
    from .builder import DataflowBuildConfig, build_dataflow_cfg

    cfg = DataflowBuildConfig.from_file(args.config, output_dir=args.output_dir or None)
    summary = build_dataflow_cfg(args.model, cfg, progress=not args.quiet)
    for key, folding in summary.items():
        if key.startswith("folding") and folding is not None:  # "folding[partition_<id>]" with several
            print(key[len("folding"):] + (" " if key != "folding" else "") + folding.message())
    print(f"build outputs in {summary['output_dir']}")
    return 0


def _add_quantize(sub):
    """`streamfold quantize`; torch and brevitas are imported only when it runs."""
    from .quantize.cli import add_parser
    add_parser(sub)


def main(argv=None):
    p = argparse.ArgumentParser(prog="streamfold", description="QNN to FPGA dataflow compiler")
    sub = p.add_subparsers(dest="cmd", required=True)
    pi = sub.add_parser("info", help="summarize a model: ops, datatypes, parameters, MACs, weight memory")
    pi.add_argument("model")
    pi.add_argument("--json", action="store_true", help="print the summary as JSON")
    pi.set_defaults(fn=_cmd_info)
    pe = sub.add_parser("exec", help="run a model on .npy inputs")
    pe.add_argument("model")
    pe.add_argument("--input", "-i", action="append", required=True, help="file.npy or NAME=file.npy")
    pe.add_argument("--output", "-o", help="output .npy (.npz for several outputs)")
    pe.add_argument("--backend", default="reference", choices=["reference", "fast"],
                    help="reference executor, or the bit-packed fast engine (batches of any size)")
    pe.set_defaults(fn=_cmd_exec)
    pb = sub.add_parser("build", help="run the FINN-style dataflow build steps (estimates so far)")
    pb.add_argument("model")
    pb.add_argument("--config", "-c", required=True, help="DataflowBuildConfig as .json or .yaml")
    pb.add_argument("--output-dir", "-o", help="overrides the config's output_dir")
    pb.add_argument("--quiet", "-q", action="store_true", help="no per-step progress display")
    pb.set_defaults(fn=_cmd_build)
    _add_quantize(sub)
    args = p.parse_args(argv)

    from .errors import StreamfoldError

    try:
        return args.fn(args)
    except StreamfoldError as e:
        print(f"streamfold: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
