"""The audit: inputs and strategies, the properties, budgets and known deviations, the engine that
measures each configuration once, the pytest plugin and property tests that drive it, and the run
file that records every measurement.
"""
