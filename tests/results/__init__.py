"""The results format (bench.results): written through the types, read back checked, older
formats upgraded (data/: a run in format 1).
"""
