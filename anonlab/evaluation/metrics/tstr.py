"""Machine-learning utility: train on the release, test on real records (TSTR), against train on real (TRTR).

A release is useful for modelling when a model fitted to it predicts a target column on *real* records about as
well as a model fitted to the real training data. Both models are scored on the same real test records, which the
release never saw (the holdout). Two learners are used: gradient boosting (scikit-learn's histogram gradient
boosting, which finds interactions, reading categories natively) and a linear model (logistic regression for a categorical target, ridge
regression for a numeric one). The ratio TSTR / TRTR is the summary: 1 means the release loses nothing for this
task.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["ModelScore", "TSTRResult", "train_synthetic_test_real", "is_class_target", "MAX_CLASS_CODES"]

#: A numeric target with at most this many distinct whole-number values is read as classes (codes), not scored
#: as a regression.
MAX_CLASS_CODES = 10


def is_class_target(values: pd.Series) -> bool:
    """Whether a numeric target is a class label: two distinct values, or at most :data:`MAX_CLASS_CODES`
    distinct whole numbers (a 0/1 label, a 1-5 code). Decided on the real table."""
    import numpy as np
    import pandas as pd

    x = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    u = np.unique(x.to_numpy())
    return len(u) == 2 or (2 <= len(u) <= MAX_CLASS_CODES and bool(np.all(u == np.round(u))))


@dataclass(frozen=True)
class ModelScore:
    """One learner's scores on the real test records.

    metric : ``"roc_auc"`` (binary target), ``"macro_f1"`` (more classes) or ``"r2"`` (numeric target).
    real, release : the score when trained on real training records / on the release.
    accuracy_real, accuracy_release : plain accuracy (classification only).
    """

    model: str
    metric: str
    real: float
    release: float
    accuracy_real: float | None
    accuracy_release: float | None

    @property
    def ratio(self) -> float | None:
        return self.release / self.real if self.real > 0 else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ratio"] = self.ratio
        return d


@dataclass(frozen=True)
class TSTRResult:
    """TSTR for ``target``; ``test_set`` says which real records were the test set (and whether that is biased).

    ``constant`` is the score of a constant prediction on the same test records (the training records' majority
    class, or their mean): what a model trained on columns that carry no information about the target is worth
    in expectation (ROC AUC 0.5, R2 about 0). ``baselines`` holds the scores of further training tables."""

    target: str
    task: str
    test_set: str
    n_train_real: int
    n_train_release: int
    n_test: int
    models: tuple[ModelScore, ...]
    baselines: dict[str, dict[str, float]] | None = None
    constant: float | None = None

    @property
    def mean_ratio(self) -> float | None:
        rs = [m.ratio for m in self.models if m.ratio is not None]
        return sum(rs) / len(rs) if rs else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "task": self.task,
            "test_set": self.test_set,
            "n_train_real": self.n_train_real,
            "n_train_release": self.n_train_release,
            "n_test": self.n_test,
            "mean_ratio": self.mean_ratio,
            "models": [m.to_dict() for m in self.models],
            "baselines": self.baselines,
            "constant_prediction": self.constant,
        }


def _fit_score(model, x, y, xt, yt, task: str, classes: np.ndarray) -> tuple[float, float | None]:
    import numpy as np
    from sklearn.metrics import f1_score, r2_score, roc_auc_score

    if task == "regression":
        model.fit(x, y)
        return float(r2_score(yt, model.predict(xt))), None
    present = np.unique(y)
    if len(present) < 2:  # a release with one class: the best it can do is predict that class
        pred = np.full(len(yt), present[0] if len(present) else classes[0])
        proba = np.full(len(yt), 1.0 if len(present) and present[0] == classes[1] else 0.0)
    else:
        model.fit(x, y)
        pred = model.predict(xt)
        proba = None
        if task == "binary":
            p = model.predict_proba(xt)
            proba = (
                p[:, list(model.classes_).index(classes[1])] if classes[1] in model.classes_ else p[:, 0] * 0
            )
    acc = float((pred == yt).mean())
    if task == "binary":
        return float(roc_auc_score(yt == classes[1], proba)), acc
    return float(f1_score(yt, pred, average="macro", labels=classes, zero_division=0)), acc


def train_synthetic_test_real(
    train: pd.DataFrame,
    release: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    kinds: dict[str, str],
    *,
    test_set: str,
    seed: int,
    max_rows: int = 20_000,
    baselines: dict[str, pd.DataFrame] | None = None,
    progress: bool = False,
) -> TSTRResult:
    """Fit both learners on ``train`` (real) and on ``release``; score on ``test`` (real).

    ``kinds`` gives the feature columns' kinds (the target is taken out; a ``"categorical"`` target is a
    classification, whatever its dtype: its values are compared as canonical text, so ``1`` and ``1.0`` are one
    class); ``max_rows`` caps each training set (a seeded sample) to bound the time. Release rows whose target is
    missing are dropped. ``baselines`` are further tables trained on like the release (the independent-columns
    baseline); their scores are in ``TSTRResult.baselines``. ``progress``: a bar over the model fits on stderr.
    """
    import warnings

    import numpy as np
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from threadpoolctl import threadpool_limits

    from anonlab.evaluation.metrics.mixed_encoder import MixedEncoder
    from anonlab.evaluation.tables import _numeric_labels, canonical_text
    from anonlab.progress import bar, ticking

    features = {c: k for c, k in kinds.items() if c != target}
    task = "regression" if kinds[target] == "numeric" else "classification"
    numeric_labels = task == "classification" and _numeric_labels(train[target].dropna())
    enc = MixedEncoder(features).fit(train)

    cats = {
        c: list(train[c].dropna().astype(str).value_counts().index[:250])
        for c, k in features.items()
        if k == "categorical"
    }

    def ordinal(df: pd.DataFrame) -> np.ndarray:
        # gradient boosting reads categories natively from codes (fewer features than one-hot: faster)
        out = []
        for c, k in features.items():
            if k == "numeric":
                out.append(pd.to_numeric(df[c], errors="coerce").astype(float).to_numpy())
            else:
                v = pd.Categorical(df[c].astype(str), categories=cats[c]).codes.astype(float)
                v[v < 0] = np.nan  # missing, or a category the real training records lack
                out.append(v)
        return np.column_stack(out) if out else np.zeros((len(df), 0))

    def prep(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        df = df[df[target].notna()]
        if len(df) > max_rows:
            df = df.sample(max_rows, random_state=seed)
        if task == "regression":
            y = pd.to_numeric(df[target], errors="coerce").astype(float).to_numpy()
            df, y = df[~np.isnan(y)], y[~np.isnan(y)]
        else:
            y = canonical_text(df[target], numeric_labels).astype(str).to_numpy()
        return enc.transform(df), ordinal(df), y

    x, xo, y = prep(train)
    xr, xro, yr = prep(release)
    xt, xto, yt = prep(test)
    extra = {name: prep(df) for name, df in (baselines or {}).items()}
    base_scores: dict[str, dict[str, float]] = {}
    cat_mask = [k == "categorical" for k in features.values()]
    classes = np.unique(y) if task != "regression" else np.array([])
    if task != "regression":
        task = "binary" if len(classes) == 2 else "multiclass"
        classes = np.array(sorted(classes))
    if task == "regression":
        learners = {
            "gradient_boosting": lambda: HistGradientBoostingRegressor(
                random_state=seed, categorical_features=cat_mask
            ),
            "ridge_regression": lambda: Ridge(alpha=1.0),
        }
        metric = "r2"
    else:
        learners = {
            "gradient_boosting": lambda: HistGradientBoostingClassifier(
                random_state=seed, categorical_features=cat_mask
            ),
            "logistic_regression": lambda: LogisticRegression(max_iter=300),
        }
        metric = "roc_auc" if task == "binary" else "macro_f1"
    scores = []
    # one thread: scikit-learn's OpenMP loops slow down many-fold on a shared, oversubscribed machine
    fits = bar(len(learners) * (2 + len(extra)), desc="TSTR fits", unit="fit", enabled=progress)
    with warnings.catch_warnings(), threadpool_limits(1), fits, ticking(fits):
        warnings.simplefilter("ignore")
        for name, make in learners.items():
            a, ar, at = (xo, xro, xto) if name == "gradient_boosting" else (x, xr, xt)
            fits.set_postfix_str(f"{name} on real")
            s_real, a_real = _fit_score(make(), a, y, at, yt, task, classes)
            fits.update()
            fits.set_postfix_str(f"{name} on release")
            if len(yr):
                s_rel, a_rel = _fit_score(make(), ar, yr, at, yt, task, classes)
            else:
                s_rel, a_rel = (0.0, 0.0 if task != "regression" else None)
            fits.update()
            scores.append(ModelScore(name, metric, s_real, s_rel, a_real, a_rel))
            for bname, (bx, bxo, by) in extra.items():
                fits.set_postfix_str(f"{name} on {bname}")
                bb = bxo if name == "gradient_boosting" else bx
                score = _fit_score(make(), bb, by, at, yt, task, classes)[0] if len(by) else 0.0
                base_scores.setdefault(bname, {})[name] = score
                fits.update()
    constant = _constant_score(task, y, yt, classes)
    return TSTRResult(
        target=target,
        task=task,
        test_set=test_set,
        n_train_real=len(y),
        n_train_release=len(yr),
        n_test=len(yt),
        models=tuple(scores),
        baselines=base_scores or None,
        constant=constant,
    )


def _constant_score(task: str, y: np.ndarray, yt: np.ndarray, classes: np.ndarray) -> float | None:
    """The score of predicting one value for every test record: the training mean (regression) or majority
    class (classification; a constant score gives ROC AUC 0.5)."""
    import numpy as np
    from sklearn.metrics import f1_score, r2_score

    if len(y) == 0 or len(yt) == 0:
        return None
    if task == "regression":
        return float(r2_score(yt, np.full(len(yt), float(np.mean(y))))) if len(yt) > 1 else None
    if task == "binary":
        return 0.5
    vals, counts = np.unique(y, return_counts=True)
    pred = np.full(len(yt), vals[np.argmax(counts)], dtype=object)
    return float(f1_score(yt.astype(object), pred, average="macro", labels=classes, zero_division=0))
