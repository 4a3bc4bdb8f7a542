"""Tests of the offline validator, clients/python (a package, so its module names stay its own)."""
