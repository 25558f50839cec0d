"""Output formats beyond the psql script and inspect's text: pictures of the closures
(pictures.py), the squawk lint annotations of offline scripts (lint.py), and the conversion as a
Django migration module (django_migration.py)."""
