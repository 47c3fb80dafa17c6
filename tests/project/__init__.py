"""The project as a whole: its architecture (import contracts, sizes), its packaging, the
generated docs and the notebooks.
"""
