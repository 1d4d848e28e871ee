"""``pacnet matrix``: the article's test matrix (docs/matrix.md)."""
