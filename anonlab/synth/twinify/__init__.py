"""NAPSU-MQ and DPVI, the two methods of twinify 2.0, as anonlab code on current JAX and NumPyro.

- :class:`~anonlab.synth.twinify.napsu.NapsuMQ` (``--method napsu``): Raisa, Jälkö, Kaski, Honkela (2023),
  "Noise-aware statistical inference with differentially private synthetic data", AISTATS.
- :class:`~anonlab.synth.twinify.dpvi.DPVI` (``--method dpvi``): Jälkö, Lagerspetz, Haukka, Tarkoma, Honkela,
  Kaski (2021), "Privacy-preserving data sharing via probabilistic modeling", Patterns 2(7).

Both work on anonlab's public-domain encoding: each column is a categorical variable over its public codes
(numbers binned on public bounds, a missing code per column), so no domain is read from the data. Stock twinify
(which needs the 2023 stack: jax 0.4.23, pandas 1.5) is a benchmark peer only (``benchmarks/synth_twinify.py``).
Sampling either model is post-processing, seeded by ``--seed``.
"""

from __future__ import annotations

from anonlab.synth.twinify._common import N_ESTIMATE_SHARE
from anonlab.synth.twinify.dpvi import DPVI
from anonlab.synth.twinify.napsu import NapsuMQ

__all__ = ["DPVI", "N_ESTIMATE_SHARE", "NapsuMQ"]
