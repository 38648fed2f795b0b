"""SDV 2.x GaussianCopula and CTGAN as non-private baselines.

They learn from the real values with no noise and give **no formal privacy guarantee**: a baseline to judge the
DP methods' utility by, not a release path. They fit on the coerced columns themselves (not on the binned codes),
with SDV's metadata set from the schema's types; sampled values are brought back into the schema's public domain
(clamped to bounds, unlisted categories -> missing). SDV is under the Business Source License 1.1.

SDV seeds its own generators; ``seed`` seeds CTGAN's training (numpy and torch) and the sampling.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np

from anonlab.errors import InputError
from anonlab.synth.base import Synthesizer, register

__all__ = ["GaussianCopula", "CTGAN"]

_SDTYPE = {"categorical": "categorical", "integer": "numerical", "float": "numerical", "date": "datetime"}
_TABLE = "t"
_PAC = 10  # CTGAN's discriminator scores rows in packs of this many


class _SDVBaseline(Synthesizer):
    private = False
    requires = ("sdv", "sdv")  # the anonlab[sdv] extra (SDV's Business Source License 1.1: opt-in)
    _klass = ""

    def _uses_codes(self) -> bool:
        return False

    def _check_data(self, df, source: str) -> None:
        if len(df) < 2:
            raise InputError(f"{source}: {self.name} needs at least 2 rows to learn from (got {len(df)})")
        for name in self.encoding_.names:
            if df[name].isna().all():
                raise InputError(
                    f"{source}: column {name!r} is entirely missing; {self.name} cannot model it"
                )

    def _make(self, metadata):
        raise NotImplementedError

    def _fit_codes(self, codes, sizes, budget, noise):
        from sdv.metadata import Metadata

        frame = self.frame_[self.encoding_.names].copy()
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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            md = Metadata.detect_from_dataframes({_TABLE: frame})
            for c in self.encoding_.columns:
                md.update_column(c.name, table_name=_TABLE, sdtype=sdtypes[c.name])
            if self.seed is not None:
                import torch

                np.random.seed(self.seed % (2**32))
                torch.manual_seed(self.seed)
            self.model_ = self._make(md)
            try:
                self.model_.fit({_TABLE: frame})
            except (ValueError, TypeError, KeyError) as exc:
                raise InputError(f"input: {self.name} could not learn from the table ({exc})") from None
        self.n_estimate_ = float(len(frame))
        return None

    def _sample_codes(self, n, rng):
        raise NotImplementedError

    def sample(self, n: int | None = None, seed: int | None = None):
        import pandas as pd

        self._check_fitted()
        n = self._default_rows() if n is None else int(n)
        if n < 1:
            from anonlab.errors import UsageError

            raise UsageError(f"rows must be at least 1 (got {n})")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model_._set_random_state(
                seed if seed is not None else int(np.random.default_rng().integers(2**31))
            )
            out = self.model_.sample(n)
        if isinstance(out, dict):
            out = out[_TABLE]
        out = out.reset_index(drop=True)
        cols = {}
        for c in self.encoding_.columns:
            s = out[c.name]
            if c.type == "categorical":
                s = s.astype(object).where(s.isin(list(c.labels)), None)
            elif c.type in ("integer", "float"):
                lo, hi = c.edges[0], c.edges[-1] - (1.0 if (c.type == "integer") else 0.0)
                v = pd.to_numeric(s, errors="coerce").clip(lo, hi)
                if c.type == "integer":
                    v = v.round()
                    s = v.astype("Int64") if v.isna().any() else v.astype(np.int64)
                else:
                    s = v.astype(float)
            else:
                s = pd.to_datetime(s, errors="coerce")
            cols[c.name] = s
        return pd.DataFrame(cols)

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


@register
class GaussianCopula(_SDVBaseline):
    """SDV's GaussianCopulaSynthesizer (non-private baseline)."""

    name = "gaussian-copula"
    description = "SDV GaussianCopula: non-private baseline, no formal privacy guarantee"

    def _make(self, metadata):
        from sdv.single_table import GaussianCopulaSynthesizer

        return GaussianCopulaSynthesizer(metadata)


@register
class CTGAN(_SDVBaseline):
    """SDV's CTGANSynthesizer (non-private baseline). Parameters: ``epochs``, ``batch_size``."""

    name = "ctgan"
    description = "SDV CTGAN: non-private GAN baseline, no formal privacy guarantee"

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {"epochs": 300, "batch_size": 500}

    def _make(self, metadata):
        from sdv.single_table import CTGANSynthesizer

        if int(self.params["batch_size"]) % _PAC:
            from anonlab.errors import UsageError

            raise UsageError(
                f"ctgan: batch size must be a multiple of {_PAC} (CTGAN scores rows in packs of {_PAC}); "
                f"got {self.params['batch_size']}"
            )
        return CTGANSynthesizer(
            metadata,
            epochs=int(self.params["epochs"]),
            batch_size=int(self.params["batch_size"]),
            enable_gpu=False,
            verbose=self.progress,
        )
