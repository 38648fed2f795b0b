"""docs/scale.md's Slurm recipe, run: dask-jobqueue's SLURMCluster submits its worker jobs to a stand-in ``sbatch``.

There is no Slurm here, so ``sbatch`` and ``scancel`` are two small scripts put first on PATH: ``sbatch`` runs the
job script dask-jobqueue wrote in its own process group (as a node would) and answers as Slurm does; ``scancel``
stops that group. Everything else is real: dask-jobqueue's job script and submission, its workers joining the
scheduler, and ``anonlab assess --scheduler ADDRESS`` (the command docs/scale.md shows) run in a separate process,
whose report must equal the in-process one. What this does not show: a real Slurm's queueing, node allocation,
shared file system or network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("distributed")
pytest.importorskip("dask_jobqueue")

SBATCH = """#!/usr/bin/env bash
# stand-in for Slurm's sbatch: run the job script at once, detached, in its own process group
script=$(mktemp "$JOBS/job.XXXXXX")
cp "$1" "$script"
setsid bash "$script" >"$script.log" 2>&1 </dev/null &
echo "$!" >>"$JOBS/ids"
echo "Submitted batch job $!"
"""

SCANCEL = """#!/usr/bin/env bash
# stand-in for Slurm's scancel: stop the job's process group
for id in "$@"; do kill -TERM -- "-$id" 2>/dev/null || true; done
"""


@pytest.fixture
def slurm(tmp_path, monkeypatch):
    """PATH with the stand-in sbatch/scancel; stops every job it started, whatever the test did."""
    bin_dir, jobs = tmp_path / "bin", tmp_path / "jobs"
    bin_dir.mkdir()
    jobs.mkdir()
    for name, text in (("sbatch", SBATCH), ("scancel", SCANCEL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("JOBS", str(jobs))
    yield jobs
    ids = jobs / "ids"
    if ids.exists():
        for line in ids.read_text().split():
            subprocess.run(["bash", str(bin_dir / "scancel"), line], check=False)


def test_assess_on_a_slurm_cluster_started_by_dask_jobqueue(slurm, tmp_path, adult):
    from dask_jobqueue import SLURMCluster
    from distributed import Client

    table = tmp_path / "registry.csv"
    adult.head(4000).to_csv(table, index=False)
    quasi = ["age", "sex", "race", "education"]

    # the call of docs/scale.md, sized for this machine: one job of 2 single-threaded workers
    cluster = SLURMCluster(
        cores=2,
        processes=2,
        memory="2GB",
        walltime="00:10:00",
        account="myproject",
        python=sys.executable,
        scheduler_options={"dashboard_address": None},
    )
    try:
        script = cluster.job_script()
        assert "#SBATCH -A myproject" in script and "#SBATCH -t 00:10:00" in script
        cluster.scale(jobs=1)
        with Client(cluster) as client:
            client.wait_for_workers(2, timeout=120)
            assert len(slurm.joinpath("ids").read_text().split()) == 1  # one job submitted through sbatch
            out = subprocess.run(
                [sys.executable, "-m", "anonlab", "assess", str(table), "--quasi", ",".join(quasi)]
                + ["--scheduler", cluster.scheduler_address, "--json"],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert out.returncode == 0, out.stderr
            # the cluster's workers are the processes of the job sbatch started (its process group)
            job = int(slurm.joinpath("ids").read_text().split()[0])
            assert set(client.run(os.getpgid, 0).values()) == {job}
    finally:
        cluster.close()
    here = subprocess.run(
        [sys.executable, "-m", "anonlab", "assess", str(table), "--quasi", ",".join(quasi), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert here.returncode == 0, here.stderr
    assert json.loads(out.stdout) == json.loads(here.stdout)  # the same report, every figure
