-- Where an online migration's end measures every relation again (record_after.sql), for the
-- length of its transaction.
-- Parameters: none.
CREATE TEMPORARY TABLE uuidpk_after (
    kind      text NOT NULL,
    object    text NOT NULL,
    row_count bigint NOT NULL,
    hash      numeric
) ON COMMIT DROP
