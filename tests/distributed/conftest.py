"""A Dask LocalCluster of 2 workers (threads, over TCP so the CLI can join it by address) shared by these tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def cluster():
    pytest.importorskip("distributed")
    import logging

    from distributed import Client, LocalCluster

    lc = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = Client(lc, set_as_default=False)
    yield client
    client.close()
    lc.close()
