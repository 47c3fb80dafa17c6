"""The read side (bench.analysis) on synthetic runs whose truth is known and on the reference
run: verdicts, intervals, sentences, the load curve, capacity, coverage, the model of a run.
"""
