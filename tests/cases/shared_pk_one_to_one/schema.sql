-- A one-to-one child that shares its parent's key (profile.person_id is both its primary key
-- and a foreign key), with children of its own: converting person.id must convert
-- profile.person_id and, through it, badge.profile_id and endorsement.profile_id.
-- expect-uuid: public.person.id, public.profile.person_id, public.badge.profile_id,
-- expect-uuid: public.endorsement.profile_id, public.badge.id, public.endorsement.id
-- check: SELECT p.email, f.bio FROM profile f JOIN person p ON p.id = f.person_id
-- check: SELECT p.email, b.title FROM badge b JOIN profile f ON f.person_id = b.profile_id JOIN person p ON p.id = f.person_id
-- check: SELECT p.email, e.note FROM endorsement e LEFT JOIN person p ON p.id = e.profile_id

CREATE TABLE person (
    id serial PRIMARY KEY,
    email text NOT NULL UNIQUE
);
CREATE TABLE profile (
    person_id integer PRIMARY KEY REFERENCES person ON DELETE CASCADE,
    bio text NOT NULL
);
CREATE TABLE badge (
    id serial PRIMARY KEY,
    profile_id integer NOT NULL REFERENCES profile (person_id) ON DELETE CASCADE,
    title text NOT NULL
);
CREATE TABLE endorsement (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    profile_id integer REFERENCES profile ON DELETE SET NULL DEFERRABLE,
    note text NOT NULL
);
CREATE INDEX badge_profile_idx ON badge (profile_id);

INSERT INTO person (email) SELECT 'p' || i || '@example.org' FROM generate_series(1, 40) i;
INSERT INTO profile SELECT id, 'bio of ' || email FROM person WHERE id % 4 <> 0;
INSERT INTO badge (profile_id, title)
SELECT f.person_id, 'badge ' || i FROM generate_series(1, 80) i
  JOIN profile f ON f.person_id = 1 + (i * 7) % 40;
INSERT INTO endorsement (profile_id, note)
SELECT CASE WHEN i % 5 = 0 THEN NULL ELSE (SELECT min(person_id) FROM profile WHERE person_id >= i) END,
       'note ' || i
  FROM generate_series(1, 30) i;
