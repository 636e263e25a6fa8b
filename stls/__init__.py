"""STLS Insight: KPIs and analyses for Kent's Specialist Teaching and Learning Service.

The folders are the pipeline, each importing only from the ones before it:

- ``store/``    the DuckDB file and everything that reads or writes it: schema, SQL, protection, imports, demo
- ``kpi/``      the KPI catalogue and each KPI's value, headline, judgement (RAG, direction, SPC) and scorecard line
- ``analysis/`` questions across KPIs: benchmarks, funnel plots, areas of need, activity and outcomes, the evaluation
- ``present/``  what a reader sees, as data: charts, tables, the meeting agenda, the pack, CSV exports
- ``access/``   who may see and do what: sign-in rules and the server's front door
- ``ui/``       Streamlit only: the frame around every page, widgets, cached data access, the server

Beside them, used by all: ``reference`` (the data contract's lists and calendar), ``filters`` (what a
reader asked for: the area, the period, the need and phase), ``memo`` (kept results), ``stats``
(Student's t) and ``cli`` (``python -m stls ...``). Only ``ui`` imports streamlit.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent   # the checkout: app.py, data/, docs/
