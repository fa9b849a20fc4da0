-- The small sets re-read every time (owner 'x'): extensions, event triggers, publications,
-- default privileges and roles.
WITH {{role_name}}
SELECT 'extension', quote_ident(e.extname), jsonb_build_object(
  'version', e.extversion, 'schema', e.extnamespace::regnamespace::text,
  'comment', (SELECT description FROM pg_description WHERE objoid = e.oid AND classoid = 'pg_extension'::regclass AND objsubid = 0))::text, 'x', NULL, e.extnamespace::regnamespace::text
FROM pg_extension e

UNION ALL
SELECT 'event trigger', quote_ident(et.evtname), jsonb_build_object(
  'event', et.evtevent, 'function', et.evtfoid::regproc::text,
  'enabled', CASE et.evtenabled WHEN 'D' THEN 'no' ELSE 'yes' END,
  'tags', array_to_string(et.evttags, ', '))::text, 'x', NULL, NULL
FROM pg_event_trigger et
WHERE et.evtname NOT LIKE 'dbgate\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_event_trigger'::regclass AND d.objid = et.oid AND d.deptype = 'e')

UNION ALL
SELECT 'publication', quote_ident(pu.pubname), jsonb_build_object(
  'all tables', CASE WHEN pu.puballtables THEN 'yes' END,
  'publishes', concat_ws(', ', CASE WHEN pu.pubinsert THEN 'insert' END, CASE WHEN pu.pubupdate THEN 'update' END,
     CASE WHEN pu.pubdelete THEN 'delete' END, CASE WHEN pu.pubtruncate THEN 'truncate' END),
  'tables', (SELECT string_agg(pr.prrelid::regclass::text, ', ' ORDER BY pr.prrelid::regclass::text) FROM pg_publication_rel pr WHERE pr.prpubid = pu.oid))::text, 'x', NULL, NULL
FROM pg_publication pu

UNION ALL
SELECT 'default privilege', g.privilege_type || ' on new ' ||
  CASE da.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas' END ||
  CASE WHEN da.defaclnamespace <> 0 THEN ' in schema ' || da.defaclnamespace::regnamespace::text ELSE '' END ||
  ' created by ' || quote_ident(pg_get_userbyid(da.defaclrole)) || ' to ' || rn.name,
  jsonb_build_object('with grant option', CASE WHEN g.is_grantable THEN 'yes' ELSE 'no' END)::text, 'x', NULL, NULL
FROM pg_default_acl da CROSS JOIN LATERAL aclexplode(da.defaclacl) g
JOIN role_name rn ON rn.oid = g.grantee

UNION ALL
SELECT 'role', quote_ident(ro.rolname), jsonb_build_object(
  'login', CASE WHEN ro.rolcanlogin THEN 'yes' ELSE 'no' END,
  'superuser', CASE WHEN ro.rolsuper THEN 'yes' ELSE 'no' END,
  'create database', CASE WHEN ro.rolcreatedb THEN 'yes' ELSE 'no' END,
  'create role', CASE WHEN ro.rolcreaterole THEN 'yes' ELSE 'no' END,
  'inherit', CASE WHEN ro.rolinherit THEN 'yes' ELSE 'no' END,
  'replication', CASE WHEN ro.rolreplication THEN 'yes' ELSE 'no' END,
  'bypass row level security', CASE WHEN ro.rolbypassrls THEN 'yes' ELSE 'no' END,
  'connection limit', ro.rolconnlimit::text,
  'settings', (SELECT array_to_string(s.setconfig, ', ') FROM pg_db_role_setting s WHERE s.setrole = ro.oid AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database())) LIMIT 1),
  'member of', (SELECT string_agg(quote_ident(g.rolname), ', ' ORDER BY g.rolname) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = ro.oid))::text,
  'x', 'r' || ro.oid, NULL
FROM pg_roles ro
WHERE ro.rolname !~ '^pg_'
