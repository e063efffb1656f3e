"""Membership tests get `world_factory`: paying members and two operators
(tests/fixtures/factories.py)."""

from tests.fixtures.factories import world_factory as world_factory
