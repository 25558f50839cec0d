-- Multi-tenant keys: task references project through a composite foreign key
-- (tenant_id, project_id) -> project (tenant_id, id), and project_id is wider (bigint) than the
-- key it references (integer). The composite key belongs to two closures at once: tenant.id
-- (through task.tenant_id -> project.tenant_id -> tenant.id) and project.id.
-- expect-uuid: public.tenant.id, public.project.id, public.project.tenant_id,
-- expect-uuid: public.task.id, public.task.tenant_id, public.task.project_id
-- check: SELECT t.name, p.name, k.title FROM task k JOIN project p ON p.tenant_id = k.tenant_id AND p.id = k.project_id JOIN tenant t ON t.id = k.tenant_id
-- check: SELECT t.name, count(*) FROM project p JOIN tenant t ON t.id = p.tenant_id GROUP BY 1

CREATE TABLE tenant (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE project (
    id serial PRIMARY KEY,
    tenant_id integer NOT NULL REFERENCES tenant ON DELETE CASCADE,
    name text NOT NULL,
    CONSTRAINT project_tenant_id_id_key UNIQUE (tenant_id, id)
);
CREATE TABLE task (
    id bigserial PRIMARY KEY,
    tenant_id integer NOT NULL,
    project_id bigint NOT NULL,
    title text NOT NULL,
    CONSTRAINT task_project_fk FOREIGN KEY (tenant_id, project_id)
        REFERENCES project (tenant_id, id) MATCH FULL ON DELETE CASCADE DEFERRABLE
);
CREATE INDEX task_tenant_project_idx ON task (tenant_id, project_id);

INSERT INTO tenant (name) SELECT 'tenant ' || i FROM generate_series(1, 5) i;
INSERT INTO project (tenant_id, name) SELECT 1 + i % 5, 'project ' || i FROM generate_series(1, 20) i;
INSERT INTO task (tenant_id, project_id, title)
SELECT p.tenant_id, p.id, 'task ' || i FROM generate_series(1, 90) i JOIN project p ON p.id = 1 + (i * 7) % 20;
