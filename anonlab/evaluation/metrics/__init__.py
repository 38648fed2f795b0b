"""The measures of an evaluation, each in a module named for what it measures; none judges or renders.

- :mod:`.discretise` (integer codes for counting) and :mod:`.mixed_encoder` (points for distances): the real
  table's encodings;
- utility: :mod:`.tv` (marginal total variation distance), :mod:`.associations` (correlation, Cramer's V,
  Theil's U), :mod:`.tstr` (train on release, test on real), :mod:`.quality` (SDMetrics' score), and
  :mod:`.baselines` (the tables every utility figure is judged against);
- risk: :mod:`.distance` (distance to closest record), :mod:`.membership` (membership inference),
  :mod:`.attacks` and :mod:`.anonymeter_attacks` (anonymeter's singling-out, linkability and inference),
  :mod:`.neighbours` (the nearest-neighbour search they share).

Modules are imported on use; scikit-learn, SDMetrics and anonymeter are imported inside the functions that need
them.
"""
