"""What every phase shares: the processes under test, CPU accounting, load, the report.

These modules import only the standard library at the top, because the load-generator
processes import them too and their start-up CPU is counted as the load generator's.
"""
