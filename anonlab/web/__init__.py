"""``anonlab serve``: a local web app over the public Python API, for people who do not code.

One page per step (load, schema, risk, release, report, download), the privacy-utility frontier of a table's
releases and a budget gauge per ledger; every release is a :class:`anonlab.ReleaseRecipe` (:func:`anonlab.anonymize`
with k, l, t and hierarchies, :class:`anonlab.synth.MST`/:class:`~anonlab.synth.AIM`, :func:`anonlab.pseudonymize`,
or a non-private baseline for comparison) run in a job process whose library progress bars reach the page,
evaluated by :func:`anonlab.evaluate` and saved with that recipe, which ``anonlab run`` reproduces to the same
bytes. DICOM and photo folders too. Needs ``anonlab[web]``.
"""

__all__ = ["create_app", "serve"]


def __getattr__(name):
    if name == "create_app":
        from anonlab.web.app import create_app

        return create_app
    if name == "serve":
        from anonlab.web.server import serve

        return serve
    raise AttributeError(f"module 'anonlab.web' has no attribute {name!r}")
