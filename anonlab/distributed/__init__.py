"""The data-heavy steps of anonlab on a Dask cluster: one machine's cores, or many machines.

``scheduler=`` (the CLI's ``--scheduler``, or ``ANONLAB_SCHEDULER``) says where: ``"local:N"`` starts a Dask
``LocalCluster`` of N worker processes on this machine; an address (``tcp://host:8786``) or a scheduler file
(``scheduler.json``, as ``dask-jobqueue`` or ``dask-mpi`` write on Slurm) joins an existing cluster; a
``distributed.Client`` is used as it is. Tables are partitioned Parquet or CSV, read by the same rules as
:func:`anonlab.io.read_table`. The per-partition work is the in-process code itself (its kernels), so results are
the in-process results: equal for :func:`assess` and :func:`pseudonymize`, and for the exact aggregates of
:func:`dp_stats` before their noise, which is drawn once, on the client; MST and AIM (:func:`synthesize`,
:func:`fit_synthesizer`) fit on the marginals counted on the cluster, and :func:`marginal_distances` gives
evaluation's marginal TVD of a large release. Needs ``anonlab[dask]``.
"""

from __future__ import annotations

__all__ = [
    "SCHEDULER_ENV",
    "connect",
    "parse_scheduler",
    "read_table",
    "write_parquet",
    "assess",
    "pseudonymize",
    "anonymize",
    "dp_stats",
    "preview_dp_stats",
    "fit_synthesizer",
    "synthesize",
    "marginal_distances",
]

_WHERE = {
    "SCHEDULER_ENV": "anonlab.distributed.scheduler",
    "connect": "anonlab.distributed.scheduler",
    "parse_scheduler": "anonlab.distributed.scheduler",
    "read_table": "anonlab.distributed.tables",
    "write_parquet": "anonlab.distributed.tables",
    "assess": "anonlab.distributed.risk",
    "pseudonymize": "anonlab.distributed.pseudonym",
    "anonymize": "anonlab.distributed.mondrian",
    "dp_stats": "anonlab.distributed.stats",
    "preview_dp_stats": "anonlab.distributed.stats",
    "fit_synthesizer": "anonlab.distributed.marginals",
    "synthesize": "anonlab.distributed.marginals",
    "marginal_distances": "anonlab.distributed.evaluation",
}


def __getattr__(name: str):
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'anonlab.distributed' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
