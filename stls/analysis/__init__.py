"""Questions across KPIs: benchmarks, funnel plots, areas of need, activity against outcomes and the evaluation of support."""
