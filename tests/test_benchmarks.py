"""The benchmark commands still run against the current code (their figures live in docs/benchmarks.md)."""

from __future__ import annotations

import pytest

from benchmarks import batch_sql


@pytest.mark.parametrize("scenario", ["keyword", "click"])
@pytest.mark.parametrize(("before_0020", "connections"), [(True, 1), (False, 1), (False, 2)])
def test_batch_sql_times_every_statement_of_a_batch(scenario: str, before_0020: bool, connections: int) -> None:
    figures = batch_sql.run(scenario, batch=4, pushes=40, before_0020=before_0020, connections=connections)
    assert set(figures) == {*batch_sql.STEPS, "total"}
    assert all(figures[step] > 0 for step in batch_sql.STEPS)
    assert figures["total"] == pytest.approx(sum(figures[step] for step in batch_sql.STEPS))
