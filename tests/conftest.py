"""Hypothesis settings profiles, chosen with `pytest --hypothesis-profile=NAME`.

- dev (the default): enough examples to catch mistakes while keeping the suite fast.
- ci: the same examples every run, so a failure can be reproduced.
- thorough: many more examples, for a long run before a release.

No deadline: the first call of a SymPy-checked test builds its derivatives, which is slow.
"""

from hypothesis import settings

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True,
                          print_blob=True)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile("dev")
