"""The property tests of the audit: run by ``softplus-audit run``, or from any pytest run with
``pytest --pyargs suite.audit.property_tests --audit-target ...`` (the plugin, :mod:`suite.audit.plugin`)."""
