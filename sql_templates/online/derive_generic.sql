-- A generic relation's new object id: the derivation seeded by the root its content type
-- names (the same CASE offline's ALTER ... USING runs, ../../uuidpk/render.py derive). A text
-- object id keeps what names no converted table; an integer one has no ELSE: such a row gets
-- NULL, which the proof before the cutover reports (offline refuses those rows at plan time).
-- Parameters: {content_type} the row's content type column; {whens} derive_generic_when.sql
-- parts; {otherwise} '' or ' ELSE ' and the old value.
CASE {content_type} {whens}{otherwise} END
