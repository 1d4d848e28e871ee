"""A server with thousands of connections spaces its young garbage collections out."""

import pytest

from pacnet.server.net import young_threshold


@pytest.mark.parametrize(
    ("connections", "threshold"),
    [(0, 700), (100, 700), (249, 700), (1_000, 4_000), (5_000, 20_000), (5_999, 23_000)],
    ids=lambda value: str(value),
)
def test_young_collections_are_pythons_own_until_thousands_of_connections(
    connections: int, threshold: int
) -> None:
    assert young_threshold(connections, floor=700) == threshold


def test_a_floor_set_higher_by_someone_else_is_kept() -> None:
    assert young_threshold(1_000, floor=50_000) == 50_000
