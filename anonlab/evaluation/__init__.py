"""Utility against re-identification risk: evaluate one release, or run a study that draws the frontier."""

__all__ = ["EvaluationConfig", "Evaluation", "evaluate"]


def __getattr__(name: str):
    # lazy: importing anonlab.evaluation must not pull in scikit-learn, sdmetrics or anonymeter
    if name in __all__:
        from anonlab.evaluation import evaluate as _module

        return getattr(_module, name)
    raise AttributeError(name)
