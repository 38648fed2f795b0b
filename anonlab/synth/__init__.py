"""Synthetic twins: one interface over AIM, MST, twinify's NAPSU-MQ and DPVI, and SDV baselines."""

from anonlab.synth.base import Budget, Synthesizer, available_methods, get_method, register

__all__ = ["Budget", "Synthesizer", "available_methods", "get_method", "register"]
