"""Property checks shipped with geodl, for its own layers and for yours (as e3nn ships
``assert_equivariant``): permutation equivariance, agreement with a dense formula, a batch of
graphs computing the same as a loop over them, fast paths equal to the generic path, every
path of a layer equal to every other (:func:`assert_paths_agree`), and
:func:`assert_same_numbers`, the printed equality check of the tutorials.

Run them in float64 (``layer.double()``, ``x.double()``) with the layer in ``eval()`` mode so
that dropout is off; the default tolerances are float64 round-off.
"""

from geodl.testing.checks import (
    assert_batch_equals_loop,
    assert_fast_path_matches,
    assert_matches_dense,
    assert_paths_agree,
    assert_permutation_equivariant,
    assert_permutation_invariant,
    assert_same_numbers,
)

__all__ = [
    "assert_permutation_equivariant",
    "assert_permutation_invariant",
    "assert_matches_dense",
    "assert_batch_equals_loop",
    "assert_fast_path_matches",
    "assert_paths_agree",
    "assert_same_numbers",
]
