"""Benchmarks: speed, memory and quality against peers run side by side. Run with `make bench` or
`python -m benchmarks NAME`. Each writes its figures to benchmarks/results/NAME.json and NAME.md."""
