"""Output formats beyond the psql script and inspect's text: pictures of the closures
(pictures.py) and the squawk lint annotations of offline scripts (lint.py)."""
