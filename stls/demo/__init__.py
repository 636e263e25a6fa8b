"""The deterministic synthetic demo database (``python -m stls demo``)."""
from stls.demo.build import build_demo, DEFAULT_SEED

__all__ = ["build_demo", "DEFAULT_SEED"]
