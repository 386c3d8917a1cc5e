"""Benchmarks (not tests): each module measures one thing and writes JSON + markdown under results/perf/."""
