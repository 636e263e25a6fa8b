"""The deterministic synthetic demo database (``python -m stls demo``)."""
from stls.store.demo.build import DEFAULT_SEED, build_demo

__all__ = ["build_demo", "DEFAULT_SEED"]
