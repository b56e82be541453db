"""The audit's property tests use the softplus-audit pytest plugin (:mod:`suite.audit.plugin`),
registered as a ``pytest11`` entry point, or loaded with ``-p suite.audit.plugin``."""
