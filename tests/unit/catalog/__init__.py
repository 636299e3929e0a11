"""Tests of seqdoctor.catalog that need no server."""
