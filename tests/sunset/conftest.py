"""Sunset tests get `world_factory`: a population of paying members and two operators
(tests/fixtures/factories.py, with the worker loop `drain` and `run_sunset`)."""

from tests.fixtures.factories import world_factory as world_factory
