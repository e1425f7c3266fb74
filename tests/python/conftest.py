"""Shared pytest set-up: the zoo cache lives in the build tree so CI and
repeated runs reuse exports, and hypothesis runs deterministically in CI."""
import os
import sys
from pathlib import Path

from hypothesis import settings

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("STREAMFOLD_CACHE", str(REPO / "build" / "zoo-cache"))
sys.path.insert(0, str(Path(__file__).parent))

# CI: derandomized (same examples every run, so a red run is reproducible);
# locally: random exploration. SF_HYPOTHESIS_PROFILE overrides.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("SF_HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
