"""The KPIs: the catalogue, each KPI's value for any area and period, its headline, judgement (RAG, direction, SPC) and scorecard line."""
