"""``python -m stls serve``: start the dashboard with the app's modules already imported.

Two reasons to launch through here rather than ``streamlit run app.py`` (which also works):
- a folder named ``pages/`` makes Streamlit treat the app as a v1 multipage app until the first
  script run calls ``st.navigation``; a first visit straight to a page's URL then shows a
  "Page not found" dialog. Switching that mode off before the server starts avoids it;
- importing pandas, DuckDB, plotly and the ``stls`` modules before the first visitor arrives
  takes about a second off the first page load.
"""
from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def warm_imports() -> None:
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401
    import scipy.special  # noqa: F401

    from stls import catalogue, charts, compare, scorecard  # noqa: F401
    from stls.views import district, needs, outcomes, overview  # noqa: F401
    catalogue.catalogue()


def main(argv: list[str]) -> int:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli
    PagesManager.uses_pages_directory = False  # st.navigation owns navigation (see above)
    warm_imports()
    sys.argv = ["streamlit", "run", str(APP), *argv]
    return cli.main()
