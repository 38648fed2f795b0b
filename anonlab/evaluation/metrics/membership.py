"""Membership inference: can an attacker holding the release tell who was in the training data?

The attacker is given real records, half of them training records (members) and half holdout records
(non-members, never seen by the release), and scores each; the area under the ROC curve (AUC) of those scores
measures how well the release betrays membership: 0.5 is guessing, 1 is certainty. Two attacks:

- **distance**: a record is scored by how close the nearest released record is (closer = member). It catches
  copies and near-copies.
- **density (DOMIAS-style)**: a record is scored by the ratio of the release's density at that point to the
  density of the real population there, estimated from a reference set of holdout records kept apart from the
  non-member candidates. Over-fitted releases put more mass on their training records than the population does,
  even when they do not copy them (van Breugel et al., 2023, "Membership Inference Attacks against Synthetic
  Data through Overfitting Detection"). Densities are k-nearest-neighbour estimates, so the log density ratio
  is ``dim * (log r_ref - log r_release)`` with ``r`` the distance to the k-th neighbour; the AUC depends only on
  its order, so the dimension drops out.

Each AUC comes with a 95% DeLong confidence interval, and the true-positive rate at a 1% false-positive rate
(what matters to the few people an attacker is sure about).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = ["AttackResult", "MembershipResult", "auc_delong", "membership_inference"]


@dataclass(frozen=True)
class AttackResult:
    """One attack's success.

    auc : area under the ROC curve of member versus non-member scores (0.5 = no better than guessing).
    auc_ci : 95% DeLong interval of ``auc``.
    tpr_at_1pct_fpr : share of members identified when only 1% of non-members are wrongly accused.
    advantage : ``2 * auc - 1``, clipped at 0: the attacker's edge over a coin toss.
    """

    name: str
    auc: float
    auc_ci: tuple[float, float]
    tpr_at_1pct_fpr: float
    advantage: float

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["auc_ci"] = list(self.auc_ci)
        return d


@dataclass(frozen=True)
class MembershipResult:
    """Membership-inference results over ``n_members`` training and ``n_non_members`` holdout candidates.

    ``n_reference``: holdout records used only as the population density reference of the density attack.
    """

    n_members: int
    n_non_members: int
    n_reference: int
    attacks: tuple[AttackResult, ...]

    def attack(self, name: str) -> AttackResult:
        for a in self.attacks:
            if a.name == name:
                return a
        raise KeyError(name)

    @property
    def max_auc(self) -> float:
        return max(a.auc for a in self.attacks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_members": self.n_members,
            "n_non_members": self.n_non_members,
            "n_reference": self.n_reference,
            "attacks": {a.name: a.to_dict() for a in self.attacks},
        }


def auc_delong(scores: np.ndarray, is_member: np.ndarray) -> tuple[float, tuple[float, float]]:
    """AUC of ``scores`` (higher = member) and its 95% DeLong confidence interval, from mid-ranks (ties count 1/2)."""
    import numpy as np
    from scipy.stats import rankdata

    scores = np.asarray(scores, dtype=float)
    pos, neg = scores[is_member], scores[~is_member]
    m, n = len(pos), len(neg)
    if m == 0 or n == 0:
        raise ValueError("need both members and non-members")
    r_all = rankdata(np.concatenate([pos, neg]))
    r_pos, r_neg = rankdata(pos), rankdata(neg)
    v10 = (r_all[:m] - r_pos) / n  # per member: share of non-members scored below it
    v01 = 1.0 - (r_all[m:] - r_neg) / m  # per non-member: share of members scored above it
    auc = float(v10.mean())
    var = (v10.var(ddof=1) if m > 1 else 0.0) / m + (v01.var(ddof=1) if n > 1 else 0.0) / n
    half = 1.96 * float(np.sqrt(max(var, 0.0)))
    return auc, (max(0.0, auc - half), min(1.0, auc + half))


def _attack(name: str, scores: np.ndarray, is_member: np.ndarray) -> AttackResult:
    import numpy as np

    auc, ci = auc_delong(scores, is_member)
    pos, neg = scores[is_member], scores[~is_member]
    # threshold: the score that at most 1% of non-members exceed; ties at the threshold are not accused
    thr = np.quantile(neg, 0.99, method="higher")
    tpr = float((pos > thr).mean())
    return AttackResult(name=name, auc=auc, auc_ci=ci, tpr_at_1pct_fpr=tpr, advantage=max(0.0, 2 * auc - 1))


def membership_inference(
    train: np.ndarray,
    release: np.ndarray,
    holdout: np.ndarray,
    *,
    rng: np.random.Generator,
    k: int = 5,
    max_candidates: int | None = None,
    progress: bool = False,
) -> MembershipResult:
    """Run the distance and density attacks on encoded matrices.

    The holdout is split at random in two halves: non-member candidates, and the density reference. As many
    training records as non-members are drawn as member candidates, so the AUC is balanced. ``max_candidates``
    caps the candidates per class; ``k`` is the neighbour whose distance estimates the densities. ``progress``:
    bars on stderr for the large neighbour searches.
    """
    import numpy as np

    from anonlab.evaluation.metrics.neighbours import knn_distances

    order = rng.permutation(len(holdout))
    n_ref = len(holdout) // 2
    ref, non = holdout[order[:n_ref]], holdout[order[n_ref:]]
    n = min(len(non), len(train))
    if max_candidates is not None:
        n = min(n, max_candidates)
    if n < 2 or n_ref < 1:
        raise ValueError("membership inference needs at least 4 holdout records")
    non = non[rng.choice(len(non), n, replace=False)]
    mem = train[rng.choice(len(train), n, replace=False)]
    cand = np.concatenate([mem, non])
    is_member = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    d_rel = knn_distances(cand, release, k=k, desc="membership: release", progress=progress)
    d_ref = knn_distances(cand, ref, k=k, desc="membership: reference", progress=progress)
    eps = 1e-6
    distance = -d_rel[:, 0]
    density = np.log(d_ref[:, -1] + eps) - np.log(d_rel[:, -1] + eps)
    attacks = (_attack("distance", distance, is_member), _attack("density", density, is_member))
    return MembershipResult(n_members=n, n_non_members=n, n_reference=n_ref, attacks=attacks)
