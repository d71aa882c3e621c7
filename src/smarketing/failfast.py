"""Which failures Airflow should retry and which it should fail at once.

A failing dbt test, a failing gate check, a missing required field or connection fails the
same way on every try: retrying only delays the alert. So does DuckDB running out of memory
in load_raw (LoadOutOfMemory) or dbt (DbtOutOfMemory, a DbtBuildFailed): its limit is
DuckDB's own accounting under SMARKETING_DUCKDB_MEMORY_LIMIT, not the machine's free memory,
so the same data under the same setting runs out again, and each retry repeats the step.
Those are re-raised as Airflow's ``AirflowFailException`` (no retries). Network errors and a
busy lock are left as they are, so the task's retries still cover them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


def deterministic_errors() -> tuple[type[BaseException], ...]:
    from smarketing.fx import ExchangeRateFileError
    from smarketing.landing import QuarantineThresholdExceeded
    from smarketing.pseudonyms import MissingPseudonymKey, PseudonymKeyChanged
    from smarketing.quality.gate import QualityGateFailed
    from smarketing.sources.base import ExtractError
    from smarketing.sources.credentials import MissingConnection
    from smarketing.sources.http import SourceResponseError
    from smarketing.sources.hubspot import SearchTooDense
    from smarketing.transform import DbtBuildFailed
    from smarketing.warehouse.load import ConflictingVersions, LoadOutOfMemory
    from smarketing.warehouse.publish import RollbackError

    return (
        QualityGateFailed,
        DbtBuildFailed,
        QuarantineThresholdExceeded,
        ExtractError,
        MissingConnection,
        RollbackError,
        # a vendor's answer of the wrong shape or a paging loop: the same on every try
        SourceResponseError,
        ConflictingVersions,
        LoadOutOfMemory,
        MissingPseudonymKey,
        PseudonymKeyChanged,
        ExchangeRateFileError,
        SearchTooDense,
    )


@contextlib.contextmanager
def fail_fast() -> Iterator[None]:
    """Turn a deterministic failure raised in the block into AirflowFailException."""
    try:
        yield
    except deterministic_errors() as exc:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc
