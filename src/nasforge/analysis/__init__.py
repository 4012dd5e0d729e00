"""Analysis: regret curves, benchmark comparisons, Pareto fronts, plots and reports."""
