"""The backtest: replay workloads over real price history, score policies."""
