"""Shared test set-up: hypothesis profiles (chosen by HYPOTHESIS_PROFILE) and tests/ on the path
so that `reference` imports as a module."""

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))

# The RPC chain's tests need a validator: collected only when one is named.
collect_ignore = [] if os.environ.get("GRIDMATCH_RPC_URL") else ["test_chain_rpc.py"]

# dev: quick local runs; ci: what `make test` runs; thorough: a long hunt (`make fuzz`).
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=20_000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
