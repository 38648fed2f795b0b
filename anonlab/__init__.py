"""anonlab: de-identification, k-anonymity and differentially private synthesis, with utility and risk measured."""

__version__ = "0.1.0"
__all__ = ["__version__"]
