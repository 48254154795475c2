"""Benchmarks and the load/accounting tools the chaos suite shares (`bench/run.py` is the entry)."""
