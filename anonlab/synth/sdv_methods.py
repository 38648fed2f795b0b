"""SDV 2.x GaussianCopula and CTGAN as non-private baselines.

They learn from the real values with no noise and give **no formal privacy guarantee**: a baseline to judge the
DP methods' utility by, not a release path. They fit on the coerced columns themselves (not on the binned codes),
with SDV's metadata set from the schema's types; sampled values are brought back into the schema's public domain
(clamped to bounds, unlisted categories -> missing). SDV is under the Business Source License 1.1.

SDV seeds its own generators; ``seed`` seeds CTGAN's training (numpy and torch) and the sampling. Both run inside
:func:`global_generators_kept`: the caller's global numpy, torch and Python generators are left as they were.
"""

from __future__ import annotations

import io
import random
import warnings
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from anonlab.errors import InputError, UsageError
from anonlab.progress import phase
from anonlab.synth.base import FrameSynthesizer

__all__ = ["GaussianCopula", "CTGAN", "global_generators_kept"]

_SDTYPE = {"categorical": "categorical", "integer": "numerical", "float": "numerical", "date": "datetime"}
_TABLE = "t"
_PAC = 10  # CTGAN's discriminator scores rows in packs of this many


@contextmanager
def global_generators_kept(seed: int | None) -> Iterator[None]:
    """Run SDV inside: seed numpy's, torch's and Python's global generators with ``seed`` (SDV and CTGAN draw from
    them), and put all three back as they were afterwards, so fitting a baseline never reseeds the caller's."""
    import torch

    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                np.random.seed(seed % (2**32))
                random.seed(seed)
                torch.manual_seed(seed)
            yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


class _SDVBaseline(FrameSynthesizer):
    requires = ("sdv", "sdv")  # the anonlab[sdv] extra (SDV's Business Source License 1.1: opt-in)

    def _check_data(self, df, source: str) -> None:
        if len(df) < 2:
            raise InputError(f"{source}: {self.name} needs at least 2 rows to learn from (got {len(df)})")
        for name in self.encoding_.names:
            if df[name].isna().all():
                raise InputError(
                    f"{source}: column {name!r} is entirely missing; {self.name} cannot model it"
                )

    #: whether SDV's model shows its own progress (``verbose``); otherwise the fit is one ticking phase line
    _reports_progress = False

    @abstractmethod
    def _make(self, metadata):
        """The SDV synthesizer of this baseline, on ``metadata``."""

    def _fit_frame(self, frame) -> None:
        from sdv.metadata import Metadata

        sdtypes = {}
        for c in self.encoding_.columns:
            # an integer column with few public values (one code per value) is modelled as categorical: a
            # continuous marginal would smear its point masses (Adult's education-num) across its range
            sdtypes[c.name] = "categorical" if (c.type == "integer" and c.exact) else _SDTYPE[c.type]
            if c.type == "categorical":
                frame[c.name] = frame[c.name].astype(object)
            elif sdtypes[c.name] == "categorical":  # as text: SDV cannot detect object columns of numbers
                v = frame[c.name]
                frame[c.name] = v.astype("Int64").astype(str).where(v.notna(), None)
        quiet_model = self.progress and not self._reports_progress  # SDV shows nothing while it fits
        with (
            warnings.catch_warnings(),
            global_generators_kept(self.seed),
            phase(f"{self.name}: fitting SDV's model", enabled=quiet_model),
        ):
            warnings.simplefilter("ignore")
            md = Metadata.detect_from_dataframes({_TABLE: frame})
            for c in self.encoding_.columns:
                md.update_column(c.name, table_name=_TABLE, sdtype=sdtypes[c.name])
            self.model_ = self._make(md)
            try:
                self.model_.fit({_TABLE: frame})
            except (ValueError, TypeError, KeyError) as exc:
                raise InputError(f"input: {self.name} could not learn from the table ({exc})") from None
        self.n_estimate_ = float(len(frame))

    def _sample_frame(self, n: int, seed: int | None):
        import pandas as pd

        with warnings.catch_warnings(), global_generators_kept(None):
            warnings.simplefilter("ignore")
            self.model_._set_random_state(
                seed if seed is not None else int(np.random.default_rng().integers(2**31))
            )
            out = self.model_.sample(n)
        if isinstance(out, dict):
            out = out[_TABLE]
        out = out.reset_index(drop=True)
        return pd.DataFrame({c.name: _in_domain(out[c.name], c) for c in self.encoding_.columns})

    def _state(self):
        import cloudpickle

        buf = io.BytesIO()
        cloudpickle.dump(self.model_, buf)
        return {"n_estimate": self.n_estimate_}, {}, buf.getvalue()

    def _restore(self, state, arrays, payload) -> None:
        import pickle

        self.model_ = pickle.loads(payload)  # noqa: S301 - SDV's own format is a pickle; load only models you made
        self.n_estimate_ = float(state["n_estimate"])

    def summary(self) -> dict[str, Any]:
        out = super().summary()
        out["license"] = "SDV: Business Source License 1.1"
        return out


def _in_domain(s, c):
    """A sampled column brought into the schema's public domain: unlisted categories -> missing, numbers clamped
    to the bounds (integers rounded), dates parsed."""
    import pandas as pd

    if c.type == "categorical":
        return s.astype(object).where(s.isin(list(c.labels)), None)
    if c.type in ("integer", "float"):
        lo, hi = c.edges[0], c.edges[-1] - (1.0 if (c.type == "integer") else 0.0)
        v = pd.to_numeric(s, errors="coerce").clip(lo, hi)
        if c.type == "float":
            return v.astype(float)
        v = v.round()
        return v.astype("Int64") if v.isna().any() else v.astype(np.int64)
    return pd.to_datetime(s, errors="coerce")


class GaussianCopula(_SDVBaseline):
    """SDV's GaussianCopulaSynthesizer (non-private baseline): ``GaussianCopula(seed=1).fit(df, schema)``."""

    name = "gaussian-copula"
    description = "SDV GaussianCopula: non-private baseline, no formal privacy guarantee"

    def _make(self, metadata):
        from sdv.single_table import GaussianCopulaSynthesizer

        return GaussianCopulaSynthesizer(metadata)


class CTGAN(_SDVBaseline):
    """SDV's CTGANSynthesizer (non-private baseline).

    epochs : passes over the rows (default 300). batch_size : rows per step, a multiple of 10 (default 500).
    """

    epochs: int = 300
    batch_size: int = 500

    name = "ctgan"
    description = "SDV CTGAN: non-private GAN baseline, no formal privacy guarantee"
    _reports_progress = True  # verbose: its epochs

    def _check_params(self) -> None:
        super()._check_params()
        if int(self.batch_size) % _PAC:
            raise UsageError(
                f"batch_size={self.batch_size}: ctgan's batch size must be a multiple of {_PAC} (CTGAN scores rows "
                f"in packs of {_PAC})"
            )

    def _make(self, metadata):
        from sdv.single_table import CTGANSynthesizer

        return CTGANSynthesizer(
            metadata,
            epochs=int(self.epochs),
            batch_size=int(self.batch_size),
            enable_gpu=False,
            verbose=self.progress,
        )
