-- What is cluster-wide on a server: what a migration can change outside its own database.
-- One row per item: its kind, a key that stays the same while the item lives (a role renamed
-- keeps its key), the object and attribute in words, its value, the names a statement that
-- changes it would spell, the SQL that sets it back to this value and the SQL that removes it.
-- $1: the roles to watch (their oids); $2: dbgate's own databases; $3: the prefix of
-- the databases dbgate makes during the run. Works on PostgreSQL 15-18.
WITH dbs AS (
  SELECT d.oid, d.datname, d.datdba, d.datacl, d.datconnlimit, d.datallowconn, d.datistemplate
  FROM pg_database d
  WHERE d.datname <> ALL ($2::text[]) AND left(d.datname, length($3::text)) <> $3::text
), known AS (
  SELECT r.oid, r.rolname, r.rolsuper, r.rolcanlogin, r.rolcreatedb, r.rolcreaterole, r.rolinherit,
    r.rolreplication, r.rolbypassrls, r.rolconnlimit, r.rolvaliduntil
  FROM pg_roles r
  WHERE r.rolname !~ '^pg_' AND r.oid = ANY ($1::bigint[]::oid[])
), grantee AS (
  SELECT 0::oid AS oid, 'PUBLIC'::text AS name, 'public'::text AS word
  UNION ALL SELECT oid, quote_ident(rolname), rolname::text FROM pg_roles
), setting AS (
  -- A list setting (search_path) is stored as the list it was given: written back as is.
  SELECT s.setdatabase, s.setrole, split_part(c, '=', 1) AS name, substr(c, strpos(c, '=') + 1) AS value
  FROM pg_db_role_setting s CROSS JOIN LATERAL unnest(s.setconfig) c
)
SELECT 'exists', 'database:' || d.oid, 'database ' || quote_ident(d.datname), '', '',
  ARRAY[d.datname::text], NULL, 'DROP DATABASE ' || quote_ident(d.datname) || ' WITH (FORCE)'
FROM dbs d

UNION ALL
SELECT 'name', 'database:' || d.oid || '|name', 'database ' || quote_ident(d.datname), 'name', quote_ident(d.datname),
  ARRAY[d.datname::text], 'ALTER DATABASE %s RENAME TO ' || quote_ident(d.datname), NULL
FROM dbs d

UNION ALL
SELECT 'attribute', 'database:' || d.oid || '|' || a.attribute, 'database ' || quote_ident(d.datname), a.attribute, a.value,
  ARRAY[d.datname::text, a.word], 'ALTER DATABASE ' || quote_ident(d.datname) || a.restore, NULL
FROM dbs d CROSS JOIN LATERAL (VALUES
  ('owner', quote_ident(pg_get_userbyid(d.datdba)), ' OWNER TO ' || quote_ident(pg_get_userbyid(d.datdba)), 'owner'),
  ('connection limit', d.datconnlimit::text, ' CONNECTION LIMIT ' || d.datconnlimit, 'connection'),
  ('allows connections', CASE WHEN d.datallowconn THEN 'yes' ELSE 'no' END, ' ALLOW_CONNECTIONS ' || d.datallowconn, 'allow_connections'),
  ('is a template', CASE WHEN d.datistemplate THEN 'yes' ELSE 'no' END, ' IS_TEMPLATE ' || d.datistemplate, 'is_template')
) a(attribute, value, restore, word)

UNION ALL
SELECT 'privilege', 'database:' || d.oid || '|' || g.privilege_type || ' to ' || gr.name, 'database ' || quote_ident(d.datname),
  g.privilege_type || ' to ' || gr.name, CASE WHEN g.is_grantable THEN 'with grant option' ELSE '' END,
  ARRAY[d.datname::text, gr.word],
  'GRANT ' || g.privilege_type || ' ON DATABASE ' || quote_ident(d.datname) || ' TO ' || gr.name || CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END,
  'REVOKE ' || g.privilege_type || ' ON DATABASE ' || quote_ident(d.datname) || ' FROM ' || gr.name || ' CASCADE'
FROM dbs d CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) g
JOIN grantee gr ON gr.oid = g.grantee

UNION ALL
SELECT 'exists', 'role:' || r.oid, 'role ' || quote_ident(r.rolname), '', '', ARRAY[r.rolname::text], NULL, NULL
FROM known r

UNION ALL
SELECT 'name', 'role:' || r.oid || '|name', 'role ' || quote_ident(r.rolname), 'name', quote_ident(r.rolname),
  ARRAY[r.rolname::text], 'ALTER ROLE %s RENAME TO ' || quote_ident(r.rolname), NULL
FROM known r

UNION ALL
SELECT 'attribute', 'role:' || r.oid || '|' || a.attribute, 'role ' || quote_ident(r.rolname), a.attribute, a.value,
  ARRAY[r.rolname::text, lower(f.word)], 'ALTER ROLE ' || quote_ident(r.rolname) || ' ' || a.restore, NULL
FROM known r CROSS JOIN LATERAL (VALUES
  ('superuser', r.rolsuper, 'SUPERUSER'),
  ('login', r.rolcanlogin, 'LOGIN'),
  ('create database', r.rolcreatedb, 'CREATEDB'),
  ('create role', r.rolcreaterole, 'CREATEROLE'),
  ('inherit', r.rolinherit, 'INHERIT'),
  ('replication', r.rolreplication, 'REPLICATION'),
  ('bypass row level security', r.rolbypassrls, 'BYPASSRLS')
) f(attribute, enabled, word)
CROSS JOIN LATERAL (SELECT f.attribute, CASE WHEN f.enabled THEN 'yes' ELSE 'no' END AS value,
  CASE WHEN f.enabled THEN f.word ELSE 'NO' || f.word END AS restore) a

UNION ALL
SELECT 'attribute', 'role:' || r.oid || '|' || a.attribute, 'role ' || quote_ident(r.rolname), a.attribute, a.value,
  ARRAY[r.rolname::text, a.word], 'ALTER ROLE ' || quote_ident(r.rolname) || ' ' || a.restore, NULL
FROM known r CROSS JOIN LATERAL (VALUES
  ('connection limit', r.rolconnlimit::text, 'CONNECTION LIMIT ' || r.rolconnlimit, 'connection'),
  ('valid until', coalesce(r.rolvaliduntil::text, 'always'), 'VALID UNTIL ' || quote_literal(coalesce(r.rolvaliduntil::text, 'infinity')), 'valid')
) a(attribute, value, restore, word)

UNION ALL
SELECT 'membership', 'role:' || mr.oid || '|member of ' || g.oid, 'role ' || quote_ident(mr.rolname), quote_ident(g.rolname),
  CASE WHEN bool_or(m.admin_option) THEN 'with admin option' ELSE '' END,
  ARRAY[mr.rolname::text, g.rolname::text],
  'GRANT ' || quote_ident(g.rolname) || ' TO ' || quote_ident(mr.rolname) || CASE WHEN bool_or(m.admin_option) THEN ' WITH ADMIN OPTION' ELSE '' END,
  'REVOKE ' || quote_ident(g.rolname) || ' FROM ' || quote_ident(mr.rolname) || ' CASCADE'
FROM pg_auth_members m JOIN known g ON g.oid = m.roleid JOIN known mr ON mr.oid = m.member
GROUP BY mr.oid, mr.rolname, g.oid, g.rolname

UNION ALL
SELECT 'setting', 'setting:' || s.setrole || ':' || s.setdatabase || '|' || s.name, t.object, s.name, s.value,
  t.words || s.name,
  'ALTER ' || t.target || ' SET ' || s.name || ' TO ' ||
    CASE WHEN s.name IN ('search_path', 'temp_tablespaces', 'session_preload_libraries', 'local_preload_libraries', 'shared_preload_libraries')
    THEN s.value ELSE quote_literal(s.value) END,
  'ALTER ' || t.target || ' RESET ' || s.name
FROM setting s
LEFT JOIN dbs d ON d.oid = s.setdatabase
LEFT JOIN known r ON r.oid = s.setrole
CROSS JOIN LATERAL (SELECT
  CASE WHEN s.setrole = 0 THEN 'database ' || quote_ident(d.datname)
       WHEN s.setdatabase = 0 THEN 'role ' || quote_ident(r.rolname)
       ELSE 'role ' || quote_ident(r.rolname) || ' in database ' || quote_ident(d.datname) END AS object,
  CASE WHEN s.setrole = 0 THEN 'DATABASE ' || quote_ident(d.datname)
       WHEN s.setdatabase = 0 THEN 'ROLE ' || quote_ident(r.rolname)
       ELSE 'ROLE ' || quote_ident(r.rolname) || ' IN DATABASE ' || quote_ident(d.datname) END AS target,
  CASE WHEN s.setrole = 0 THEN ARRAY[d.datname::text] ELSE ARRAY[r.rolname::text] END AS words) t
WHERE (s.setdatabase = 0 OR d.oid IS NOT NULL) AND (s.setrole = 0 OR r.oid IS NOT NULL)

UNION ALL
SELECT 'exists', 'tablespace:' || t.oid, 'tablespace ' || quote_ident(t.spcname), '', '',
  ARRAY[t.spcname::text], NULL, 'DROP TABLESPACE ' || quote_ident(t.spcname)
FROM pg_tablespace t

UNION ALL
SELECT 'name', 'tablespace:' || t.oid || '|name', 'tablespace ' || quote_ident(t.spcname), 'name', quote_ident(t.spcname),
  ARRAY[t.spcname::text], 'ALTER TABLESPACE %s RENAME TO ' || quote_ident(t.spcname), NULL
FROM pg_tablespace t

UNION ALL
SELECT 'privilege', 'parameter:' || p.parname || '|' || g.privilege_type || ' to ' || gr.name, 'parameter ' || p.parname,
  g.privilege_type || ' to ' || gr.name, CASE WHEN g.is_grantable THEN 'with grant option' ELSE '' END,
  ARRAY[p.parname, gr.word],
  'GRANT ' || g.privilege_type || ' ON PARAMETER ' || p.parname || ' TO ' || gr.name || CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END,
  'REVOKE ' || g.privilege_type || ' ON PARAMETER ' || p.parname || ' FROM ' || gr.name || ' CASCADE'
FROM pg_parameter_acl p CROSS JOIN LATERAL aclexplode(p.paracl) g
JOIN grantee gr ON gr.oid = g.grantee
