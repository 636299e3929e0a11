"""Tests of seqdoctor.checks: one module per check, plus the registry and its meta-tests."""
