"""Benchmarks: each ``bench_*.py`` module has ``main() -> dict``; ``python -m benchmarks`` runs them all."""
