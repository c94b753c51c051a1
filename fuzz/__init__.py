"""Coverage-guided fuzzing of the ESL codec (``make fuzz``; not part of ``make test``).

The properties live in :mod:`fuzz.esl_properties` and are shared with the short
hypothesis smoke test in ``tests/esl/test_fuzz_smoke.py``.
"""
