"""FINN-style build steps (``streamfold.builder.steps``)."""
from . import steps

__all__ = ["steps"]
from . import boards, estimates, folding  # noqa: E402
from .build import build_dataflow_cfg  # noqa: E402
from .config import DataflowBuildConfig  # noqa: E402

__all__ += ["boards", "estimates", "folding", "build_dataflow_cfg", "DataflowBuildConfig"]
