"""The audit: the properties, budgets and known deviations, the parameter cases, the engine that
measures each configuration once, the option table, the pytest plugin and property tests that
drive it, and the run file that records every measurement.
"""
