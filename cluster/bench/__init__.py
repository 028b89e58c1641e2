"""The benchmarks behind `zeroplay bench ...` (figures recorded in BENCHMARKS.md)."""
