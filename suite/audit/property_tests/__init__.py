"""The property tests of the audit (run by ``softplus-audit run`` or ``pytest suite/audit_tests``)."""
