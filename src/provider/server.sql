-- What is cluster-wide on a server: what a migration can change outside its own database.
-- One row per item: its kind, a key that stays the same while the item lives (a role or a
-- database renamed keeps its key; one made during the run is known by its name, so that made
-- again it is the same), the object and attribute in words, its value, the names a statement
-- that changes it would spell, the SQL that sets it back to this value, the SQL that removes it,
-- and the SQL that takes back a grant or admin option only. Several statements in one are
-- separated by a line `--dbgate-next` (some may not run in one transaction).
-- $1: the roles there before the run (oids, not pg_*); $2: dbgate's own databases; $3: the
-- prefix of the databases this run makes; $4, $5: the databases and tablespaces there before
-- the run (oids). Works on PostgreSQL 15-18.
WITH dbs AS (
  SELECT d.oid, d.datname, d.datdba, d.datacl, d.datconnlimit, d.datallowconn, d.datistemplate, d.dattablespace,
    CASE WHEN d.oid = ANY ($4::bigint[]::oid[]) THEN 'database:' || d.oid ELSE 'database:new:' || d.datname END AS key
  FROM pg_database d
  WHERE d.datname <> ALL ($2::text[]) AND left(d.datname, length($3::text)) <> $3::text
    -- Other dbgate runs' databases, on a server several CI jobs share.
    AND d.datname !~ '^dbgate_[0-9]+_[0-9a-f]{12}(_[0-9]+)?$'
), spaces AS (
  SELECT t.oid, t.spcname, t.spcowner, t.spcacl, t.spcoptions,
    CASE WHEN t.oid = ANY ($5::bigint[]::oid[]) THEN 'tablespace:' || t.oid ELSE 'tablespace:new:' || t.spcname END AS key
  FROM pg_tablespace t
), known AS (
  SELECT r.oid, r.rolname, r.rolsuper, r.rolcanlogin, r.rolcreatedb, r.rolcreaterole, r.rolinherit,
    r.rolreplication, r.rolbypassrls, r.rolconnlimit, r.rolvaliduntil
  FROM pg_roles r
  WHERE r.oid = ANY ($1::bigint[]::oid[])
), member_side AS (
  -- Memberships between the roles there before, the predefined ones (pg_read_all_data) among them.
  SELECT oid, rolname FROM known UNION SELECT oid, rolname FROM pg_roles WHERE rolname ~ '^pg_'
), grantee AS (
  -- A role there before is known by its oid (renamed, it is the same); one made during the run
  -- by its name (made again after its rollback, it is the same).
  SELECT 0::oid AS oid, 'PUBLIC'::text AS name, 'public'::text AS word, '0'::text AS key
  UNION ALL SELECT oid, quote_ident(rolname), rolname::text,
    CASE WHEN oid = ANY ($1::bigint[]::oid[]) OR rolname ~ '^pg_' THEN oid::text ELSE 'new:' || rolname END
  FROM pg_roles
), setting AS (
  SELECT s.setdatabase, s.setrole, split_part(c, '=', 1) AS name, substr(c, strpos(c, '=') + 1) AS value
  FROM pg_db_role_setting s CROSS JOIN LATERAL unnest(s.setconfig) c
), setting_sql AS (
  -- A list setting (search_path) is stored as the list it was given: written back as is; an
  -- empty one as ''.
  SELECT s.*, CASE
    WHEN s.name IN ('search_path', 'temp_tablespaces', 'session_preload_libraries', 'local_preload_libraries', 'shared_preload_libraries')
    THEN CASE WHEN s.value IN ('', '""') THEN '''''' ELSE s.value END
    ELSE quote_literal(s.value) END AS literal
  FROM setting s
)
SELECT 'exists', d.key, 'database ' || quote_ident(d.datname), '', '', ARRAY[d.datname::text], NULL,
  'ALTER DATABASE ' || quote_ident(d.datname) || ' IS_TEMPLATE false' || E'\n--dbgate-next\n' ||
  'DROP DATABASE ' || quote_ident(d.datname) || ' WITH (FORCE)', NULL
FROM dbs d

UNION ALL
SELECT 'name', d.key || '|name', 'database ' || quote_ident(d.datname), 'name', quote_ident(d.datname),
  ARRAY[d.datname::text], 'DATABASE', NULL, NULL
FROM dbs d

UNION ALL
SELECT 'attribute', d.key || '|' || a.attribute, 'database ' || quote_ident(d.datname), a.attribute, a.value,
  ARRAY[d.datname::text, a.word], a.restore, NULL, NULL
FROM dbs d CROSS JOIN LATERAL (VALUES
  ('owner', quote_ident(pg_get_userbyid(d.datdba)), 'ALTER DATABASE ' || quote_ident(d.datname) || ' OWNER TO ' || quote_ident(pg_get_userbyid(d.datdba)), 'owner'),
  ('connection limit', d.datconnlimit::text, 'ALTER DATABASE ' || quote_ident(d.datname) || ' CONNECTION LIMIT ' || d.datconnlimit, 'connection'),
  ('allows connections', CASE WHEN d.datallowconn THEN 'yes' ELSE 'no' END, 'ALTER DATABASE ' || quote_ident(d.datname) || ' ALLOW_CONNECTIONS ' || d.datallowconn, 'allow_connections'),
  ('is a template', CASE WHEN d.datistemplate THEN 'yes' ELSE 'no' END, 'ALTER DATABASE ' || quote_ident(d.datname) || ' IS_TEMPLATE ' || d.datistemplate, 'is_template'),
  ('tablespace', (SELECT quote_ident(spcname) FROM pg_tablespace WHERE oid = d.dattablespace),
    'ALTER DATABASE ' || quote_ident(d.datname) || ' SET TABLESPACE ' || (SELECT quote_ident(spcname) FROM pg_tablespace WHERE oid = d.dattablespace), 'tablespace'),
  ('comment', coalesce(shobj_description(d.oid, 'pg_database'), 'none'),
    'COMMENT ON DATABASE ' || quote_ident(d.datname) || ' IS ' || coalesce(quote_literal(shobj_description(d.oid, 'pg_database')), 'NULL'), 'comment')
) a(attribute, value, restore, word)

UNION ALL
-- Privileges as in effect; the owner's are known as the owner's (a new owner with the same
-- privileges is said once, as the owner).
SELECT 'privilege', d.key || '|' || g.privilege_type || ' to ' || CASE WHEN g.grantee = d.datdba THEN 'owner' ELSE gr.key END,
  'database ' || quote_ident(d.datname),
  g.privilege_type || ' to ' || gr.name || CASE WHEN g.grantee = d.datdba THEN ' (the owner)' ELSE '' END,
  CASE WHEN g.is_grantable THEN 'with grant option' ELSE '' END,
  ARRAY[d.datname::text, gr.word],
  'GRANT ' || g.privilege_type || ' ON DATABASE ' || quote_ident(d.datname) || ' TO ' || gr.name || CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END,
  'REVOKE ' || g.privilege_type || ' ON DATABASE ' || quote_ident(d.datname) || ' FROM ' || gr.name || ' CASCADE',
  'REVOKE GRANT OPTION FOR ' || g.privilege_type || ' ON DATABASE ' || quote_ident(d.datname) || ' FROM ' || gr.name || ' CASCADE'
FROM dbs d CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) g
JOIN grantee gr ON gr.oid = g.grantee

UNION ALL
SELECT 'exists', 'role:' || r.oid, 'role ' || quote_ident(r.rolname), '', '', ARRAY[r.rolname::text], NULL, NULL, NULL
FROM known r

UNION ALL
SELECT 'name', 'role:' || r.oid || '|name', 'role ' || quote_ident(r.rolname), 'name', quote_ident(r.rolname),
  ARRAY[r.rolname::text], 'ROLE', NULL, NULL
FROM known r

UNION ALL
SELECT 'attribute', 'role:' || r.oid || '|' || a.attribute, 'role ' || quote_ident(r.rolname), a.attribute, a.value,
  ARRAY[r.rolname::text, a.word], a.restore, NULL, NULL
FROM known r CROSS JOIN LATERAL (
  SELECT f.attribute, CASE WHEN f.enabled THEN 'yes' ELSE 'no' END,
    'ALTER ROLE ' || quote_ident(r.rolname) || ' ' || CASE WHEN f.enabled THEN f.word ELSE 'NO' || f.word END, lower(f.word)
  FROM (VALUES
    ('superuser', r.rolsuper, 'SUPERUSER'),
    ('login', r.rolcanlogin, 'LOGIN'),
    ('create database', r.rolcreatedb, 'CREATEDB'),
    ('create role', r.rolcreaterole, 'CREATEROLE'),
    ('inherit', r.rolinherit, 'INHERIT'),
    ('replication', r.rolreplication, 'REPLICATION'),
    ('bypass row level security', r.rolbypassrls, 'BYPASSRLS')
  ) f(attribute, enabled, word)
  UNION ALL VALUES
    ('connection limit', r.rolconnlimit::text, 'ALTER ROLE ' || quote_ident(r.rolname) || ' CONNECTION LIMIT ' || r.rolconnlimit, 'connection'),
    -- Never set cannot be written back: it becomes infinity, which means the same.
    ('valid until', coalesce(r.rolvaliduntil::text, 'infinity'), 'ALTER ROLE ' || quote_ident(r.rolname) || ' VALID UNTIL ' || quote_literal(coalesce(r.rolvaliduntil::text, 'infinity')), 'valid'),
    ('comment', coalesce(shobj_description(r.oid, 'pg_authid'), 'none'),
      'COMMENT ON ROLE ' || quote_ident(r.rolname) || ' IS ' || coalesce(quote_literal(shobj_description(r.oid, 'pg_authid')), 'NULL'), 'comment')
) a(attribute, value, restore, word)

UNION ALL
SELECT 'membership', 'role:' || mr.oid || '|member of ' || g.oid, 'role ' || quote_ident(mr.rolname), quote_ident(g.rolname),
  CASE WHEN bool_or(m.admin_option) THEN 'with admin option' ELSE '' END,
  ARRAY[mr.rolname::text, g.rolname::text],
  'GRANT ' || quote_ident(g.rolname) || ' TO ' || quote_ident(mr.rolname) || CASE WHEN bool_or(m.admin_option) THEN ' WITH ADMIN OPTION' ELSE '' END,
  'REVOKE ' || quote_ident(g.rolname) || ' FROM ' || quote_ident(mr.rolname) || ' CASCADE',
  'REVOKE ADMIN OPTION FOR ' || quote_ident(g.rolname) || ' FROM ' || quote_ident(mr.rolname) || ' CASCADE'
FROM pg_auth_members m JOIN member_side g ON g.oid = m.roleid JOIN member_side mr ON mr.oid = m.member
GROUP BY mr.oid, mr.rolname, g.oid, g.rolname

UNION ALL
SELECT 'setting', 'setting:' || s.setrole || ':' || coalesce(d.key, '0') || '|' || s.name, t.object, s.name, s.value,
  t.words || s.name,
  'ALTER ' || t.target || ' SET ' || s.name || ' TO ' || s.literal,
  'ALTER ' || t.target || ' RESET ' || s.name, NULL
FROM setting_sql s
LEFT JOIN dbs d ON d.oid = s.setdatabase
LEFT JOIN known r ON r.oid = s.setrole
CROSS JOIN LATERAL (SELECT
  CASE WHEN s.setrole = 0 AND s.setdatabase = 0 THEN 'every role'
       -- ALTER ROLE ALL IN DATABASE x is ALTER DATABASE x: one row.
       WHEN s.setrole = 0 THEN 'database ' || quote_ident(d.datname)
       WHEN s.setdatabase = 0 THEN 'role ' || quote_ident(r.rolname)
       ELSE 'role ' || quote_ident(r.rolname) || ' in database ' || quote_ident(d.datname) END AS object,
  CASE WHEN s.setrole = 0 AND s.setdatabase = 0 THEN 'ROLE ALL'
       WHEN s.setrole = 0 THEN 'DATABASE ' || quote_ident(d.datname)
       WHEN s.setdatabase = 0 THEN 'ROLE ' || quote_ident(r.rolname)
       ELSE 'ROLE ' || quote_ident(r.rolname) || ' IN DATABASE ' || quote_ident(d.datname) END AS target,
  CASE WHEN s.setrole = 0 AND s.setdatabase = 0 THEN ARRAY['all']
       WHEN s.setrole = 0 THEN ARRAY[d.datname::text]
       ELSE ARRAY[r.rolname::text] END AS words) t
WHERE (s.setdatabase = 0 OR d.oid IS NOT NULL) AND (s.setrole = 0 OR r.oid IS NOT NULL)

UNION ALL
SELECT 'exists', t.key, 'tablespace ' || quote_ident(t.spcname), '', '',
  ARRAY[t.spcname::text], NULL, 'DROP TABLESPACE ' || quote_ident(t.spcname), NULL
FROM spaces t

UNION ALL
SELECT 'name', t.key || '|name', 'tablespace ' || quote_ident(t.spcname), 'name', quote_ident(t.spcname),
  ARRAY[t.spcname::text], 'TABLESPACE', NULL, NULL
FROM spaces t

UNION ALL
SELECT 'attribute', t.key || '|' || a.attribute, 'tablespace ' || quote_ident(t.spcname), a.attribute, a.value,
  ARRAY[t.spcname::text, a.word], a.restore, NULL, NULL
FROM spaces t CROSS JOIN LATERAL (VALUES
  ('owner', quote_ident(pg_get_userbyid(t.spcowner)), 'ALTER TABLESPACE ' || quote_ident(t.spcname) || ' OWNER TO ' || quote_ident(pg_get_userbyid(t.spcowner)), 'owner'),
  ('options', coalesce(array_to_string(t.spcoptions, ', '), 'none'),
    CASE WHEN t.spcoptions IS NULL
      THEN 'ALTER TABLESPACE ' || quote_ident(t.spcname) || ' RESET (seq_page_cost, random_page_cost, effective_io_concurrency, maintenance_io_concurrency)'
      ELSE 'ALTER TABLESPACE ' || quote_ident(t.spcname) || ' RESET (seq_page_cost, random_page_cost, effective_io_concurrency, maintenance_io_concurrency)'
        || E'\n--dbgate-next\n' || 'ALTER TABLESPACE ' || quote_ident(t.spcname) || ' SET (' || array_to_string(t.spcoptions, ', ') || ')' END,
    'set'),
  ('comment', coalesce(shobj_description(t.oid, 'pg_tablespace'), 'none'),
    'COMMENT ON TABLESPACE ' || quote_ident(t.spcname) || ' IS ' || coalesce(quote_literal(shobj_description(t.oid, 'pg_tablespace')), 'NULL'), 'comment')
) a(attribute, value, restore, word)

UNION ALL
SELECT 'privilege', t.key || '|' || g.privilege_type || ' to ' || CASE WHEN g.grantee = t.spcowner THEN 'owner' ELSE gr.key END,
  'tablespace ' || quote_ident(t.spcname),
  g.privilege_type || ' to ' || gr.name || CASE WHEN g.grantee = t.spcowner THEN ' (the owner)' ELSE '' END,
  CASE WHEN g.is_grantable THEN 'with grant option' ELSE '' END,
  ARRAY[t.spcname::text, gr.word],
  'GRANT ' || g.privilege_type || ' ON TABLESPACE ' || quote_ident(t.spcname) || ' TO ' || gr.name || CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END,
  'REVOKE ' || g.privilege_type || ' ON TABLESPACE ' || quote_ident(t.spcname) || ' FROM ' || gr.name || ' CASCADE',
  'REVOKE GRANT OPTION FOR ' || g.privilege_type || ' ON TABLESPACE ' || quote_ident(t.spcname) || ' FROM ' || gr.name || ' CASCADE'
FROM spaces t CROSS JOIN LATERAL aclexplode(coalesce(t.spcacl, acldefault('t', t.spcowner))) g
JOIN grantee gr ON gr.oid = g.grantee

UNION ALL
-- Privileges on parameters (PostgreSQL 15+); the bootstrap superuser's are implicit.
SELECT 'privilege', 'parameter:' || p.parname || '|' || g.privilege_type || ' to ' || gr.key, 'parameter ' || p.parname,
  g.privilege_type || ' to ' || gr.name, CASE WHEN g.is_grantable THEN 'with grant option' ELSE '' END,
  ARRAY[p.parname, gr.word],
  'GRANT ' || g.privilege_type || ' ON PARAMETER ' || p.parname || ' TO ' || gr.name || CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END,
  'REVOKE ' || g.privilege_type || ' ON PARAMETER ' || p.parname || ' FROM ' || gr.name || ' CASCADE',
  'REVOKE GRANT OPTION FOR ' || g.privilege_type || ' ON PARAMETER ' || p.parname || ' FROM ' || gr.name || ' CASCADE'
FROM pg_parameter_acl p CROSS JOIN LATERAL aclexplode(p.paracl) g
JOIN grantee gr ON gr.oid = g.grantee
WHERE g.grantee <> 10

UNION ALL
SELECT 'exists', 'replication slot:' || s.slot_name, 'replication slot ' || quote_ident(s.slot_name), '', '',
  ARRAY[s.slot_name::text], NULL, 'SELECT pg_drop_replication_slot(' || quote_literal(s.slot_name) || ')', NULL
FROM pg_replication_slots s
