"""``python -m stls serve``: start the dashboard, then warm it while the first browser loads.

Two reasons to launch through here rather than ``streamlit run app.py`` (which also works):
- it runs ``stls.ui.asgi:app``: app.py behind ``stls.access.guard``, which decides who may upload,
  download, sign out and see health before Streamlit's endpoints do (docs/sign-in.md, Security);
- once the server answers, a background thread imports pandas, DuckDB, Plotly and the ``stls``
  modules, opens the database and fills the very caches the Overview's first run reads. A browser
  spends about a second loading Streamlit's JavaScript before it asks for that first run, so the
  run finds its figures ready. The thread waits for the server first: run alongside the
  server's own start-up it would only slow it (Python runs one thread at a time).
"""
from __future__ import annotations

import gc
import logging
import sys
import threading
import time

from stls import ROOT

APP = ROOT / "app.py"
SERVER_WAIT = 30.0   # seconds to wait for the server before warming anyway


def warm_imports() -> None:
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401
    import plotly.io  # noqa: F401
    import plotly.tools  # noqa: F401

    from stls.kpi import catalogue
    from stls.store import disclosure  # noqa: F401
    disclosure.ptable()   # the perturbation table, read once
    from stls.present.views import district, overview  # noqa: F401
    catalogue.catalogue()


def warm_default_view() -> None:
    """Fill the cached calls of the Overview's default view (no URL parameters), with exactly the
    arguments ``app_pages/overview.py`` passes, so its first run reads them. Any failure is left to
    the page to report."""
    try:
        from stls.filters import default_filters
        from stls.present.views import overview
        from stls.store import db as dbmod
        from stls.ui import data
        if not dbmod.default_path().exists():
            return
        extent = data.extent()
        data.meta()
        f = default_filters(extent)
        data.call(overview.page, f, tuple(overview.DEFAULT_TYPES))
        data.call(overview.district_comparison, f, overview.COMPARISON_KPIS[0])
    except Exception as exc:  # noqa: BLE001 - warming is an optimisation only: the page reports errors
        logging.getLogger(__name__).warning("warm-up of the Overview skipped: %s", exc)


def warm_impact() -> None:
    """The evaluation of support (a few seconds of model fitting), for both outcomes, so the
    Impact of support page finds it ready."""
    try:
        from stls.analysis.evaluation import worker
        from stls.store import db as dbmod
        from stls.ui import data
        if dbmod.default_path().exists():
            data.call(worker.bundles)
    except Exception as exc:  # noqa: BLE001 - warming is an optimisation only: the page reports errors
        logging.getLogger(__name__).warning("warm-up of the evaluation of support skipped: %s", exc)


def _server_started() -> bool:
    runtime = sys.modules.get("streamlit.runtime.runtime")   # imported by the server, not by us
    if runtime is None or not runtime.Runtime.exists():
        return False
    return runtime.Runtime.instance().state in (runtime.RuntimeState.NO_SESSIONS_CONNECTED,
                                                runtime.RuntimeState.ONE_OR_MORE_SESSIONS_CONNECTED)


def warm_streamlit() -> None:
    """Streamlit's first element of a process checks once whether it runs in a REPL, through
    ``inspect.stack()``; deep in a script run that costs about 0.2 s. Done here, it is cheap."""
    from streamlit import delta_generator
    check = getattr(delta_generator, "_maybe_print_use_warning", None)   # private: skip if gone
    if check is not None:
        check()


def warm_after_start(wait: float = SERVER_WAIT) -> None:
    deadline = time.monotonic() + wait
    while not _server_started() and time.monotonic() < deadline:
        time.sleep(0.01)
    warm_streamlit()
    warm_default_view()   # what the first page needs, first
    warm_imports()
    warm_impact()
    gc.freeze()   # what start-up made lives as long as the server: no collection need walk it again


def _flag(argv: list[str], name: str) -> list[str]:
    """The values given to a ``--name value`` or ``--name=value`` flag."""
    out = []
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            out.append(argv[i + 1])
        elif arg.startswith(name + "="):
            out.append(arg.split("=", 1)[1])
    return out


def check_sign_in(argv: list[str]) -> str | None:
    """Why the sign-in configuration cannot be used (None if it can, or if there is none): the
    ``[auth]`` section and the roles, read from the secrets files this server will read."""
    from streamlit import config
    from streamlit.runtime.secrets import secrets_singleton

    from stls.access import rules as access
    files = _flag(argv, "--secrets.files")
    if files:
        config.get_config_options(force_reparse=True, options_from_flags={"secrets.files": files})
    found = secrets_singleton.to_dict() if secrets_singleton.load_if_toml_exists() else {}
    try:
        access.validate(found)
    except access.ConfigError as exc:
        return str(exc)
    return None


def main(argv: list[str]) -> int:
    """Check the sign-in configuration, then run ``stls.ui.asgi:app`` (app.py behind ``stls.access.guard``)
    with Streamlit's own runner: ``argv`` takes every flag ``streamlit run`` takes."""
    from streamlit import config
    from streamlit.web import bootstrap, cli
    problem = check_sign_in(argv)
    if problem:
        print(f"STLS Insight cannot start: {problem}", file=sys.stderr)
        return 2
    flags = cli.main_run.make_context("run", [str(APP), *argv]).params   # the flags, read as `streamlit run` reads them
    flags = {k: v for k, v in flags.items() if k not in ("target", "args")}
    config._main_script_path = str(APP)   # as `streamlit run app.py` sets it: config and secrets beside app.py
    bootstrap.load_config_options(flag_options=flags)
    from stls.ui import data
    data.PREPARE_IN_BACKGROUND = True   # each new data version's evaluation starts as soon as a page opens it
    threading.Thread(target=warm_after_start, daemon=True, name="stls-warm").start()
    bootstrap.run_asgi_app(str(APP), "stls.ui.asgi:app", [], flags)
    return 0
