-- Two foreign keys from one table to the same parent: both columns convert, and neither may be
-- confused with the other.
-- expect-uuid: public.account.id, public.transfer.from_account, public.transfer.to_account,
-- expect-uuid: public.transfer.id
-- check: SELECT f.owner, t.owner, x.amount FROM transfer x JOIN account f ON f.id = x.from_account JOIN account t ON t.id = x.to_account

CREATE TABLE account (id bigserial PRIMARY KEY, owner text NOT NULL UNIQUE);
CREATE TABLE transfer (
    id serial PRIMARY KEY,
    from_account bigint NOT NULL CONSTRAINT transfer_from_fk REFERENCES account,
    to_account bigint NOT NULL CONSTRAINT transfer_to_fk REFERENCES account ON DELETE CASCADE,
    amount numeric(10, 2) NOT NULL,
    CHECK (from_account <> to_account)
);

INSERT INTO account (owner) SELECT 'owner ' || i FROM generate_series(1, 12) i;
INSERT INTO transfer (from_account, to_account, amount)
SELECT 1 + i % 12, 1 + (i * 5 + 1) % 12, i * 1.5
  FROM generate_series(1, 60) i
 WHERE 1 + i % 12 <> 1 + (i * 5 + 1) % 12;
