-- One row per object the migrations can create: (kind, identity, attributes as a JSON object,
-- owner, self, schema). Objects that belong to extensions, the system schemas and dbgate's own
-- bookkeeping are left out: they are not the migrations' work. Attribute names are the words a
-- user reads in a difference.
--
-- `owner` groups rows by what a change is tracked on: a relation ('c' || oid) with its columns,
-- constraints, indexes, triggers, policies, rules and privileges; a routine ('p'), a type ('t'),
-- a schema ('n'); 'x' for the small sets re-read every time (extensions, event triggers,
-- publications, default privileges, roles). `self` names a part by its own oid, so that a part
-- that was dropped can be traced to its owner. The {{...}} sources are the whole catalogs, or
-- only the relations, routines, types and schemas to read again (see catalog/mod.rs).
--
-- Comments are read from pg_description directly: obj_description() and col_description() are
-- SQL functions that are not inlined, and calling them for every row cost as much as the rest.
WITH user_ns AS (
  SELECT n.oid, n.nspname FROM pg_namespace n
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%' AND n.nspname <> 'dbgate_internal'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
),
rel AS (
  SELECT c.oid, c.relname, c.relkind, c.relowner, c.relacl, ns.nspname,
         format('%I.%I', ns.nspname, c.relname) AS name,
         CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
           WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' END AS kind
  FROM {{relations}} JOIN user_ns ns ON ns.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
),
fn AS (
  SELECT p.oid, p.proowner, p.proacl, p.prokind, ns.nspname,
         format('%I.%I(%s)', ns.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) AS name,
         CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window function' ELSE 'function' END AS kind
  FROM {{routines}} JOIN user_ns ns ON ns.oid = p.pronamespace
  WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
),
typ AS (
  SELECT t.oid, t.typowner, t.typacl, t.typtype, ns.nspname, format('%I.%I', ns.nspname, t.typname) AS name,
         CASE t.typtype WHEN 'e' THEN 'enum type' WHEN 'd' THEN 'domain' WHEN 'r' THEN 'range type' ELSE 'composite type' END AS kind,
         t.typrelid, t.typbasetype, t.typtypmod, t.typnotnull, t.typdefaultbin
  FROM {{types}} JOIN user_ns ns ON ns.oid = t.typnamespace
  WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c'))
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
),
role_name(oid, name) AS (
  SELECT 0::oid, 'PUBLIC' UNION ALL SELECT oid, quote_ident(rolname) FROM pg_roles
),
grants(on_what, acl, owner, default_kind, tracked_by) AS (
  SELECT 'schema ' || quote_ident(n.nspname), n.nspacl, n.nspowner, 'n', 'n' || n.oid FROM pg_namespace n JOIN user_ns USING (oid) WHERE {{schemas}}
  UNION ALL SELECT kind || ' ' || name, relacl, relowner, CASE relkind WHEN 'S' THEN 's' ELSE 'r' END, 'c' || oid FROM rel
  UNION ALL SELECT kind || ' ' || name, proacl, proowner, 'f', 'p' || oid FROM fn
  UNION ALL SELECT kind || ' ' || name, typacl, typowner, 'T', 't' || oid FROM typ
  UNION ALL SELECT 'column ' || rel.name || '.' || quote_ident(a.attname), a.attacl, rel.relowner, NULL, 'c' || rel.oid
    FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
)
SELECT 'schema', quote_ident(n.nspname), jsonb_build_object(
  'owner', pg_get_userbyid(n.nspowner),
  'comment', (SELECT description FROM pg_description WHERE objoid = n.oid AND classoid = 'pg_namespace'::regclass AND objsubid = 0))::text, 'n' || n.oid, NULL, NULL
FROM pg_namespace n JOIN user_ns USING (oid)
WHERE {{schemas}}

UNION ALL
SELECT r.kind, r.name, (jsonb_build_object(
  'owner', pg_get_userbyid(c.relowner),
  'row level security', CASE WHEN c.relkind IN ('r', 'p') THEN CASE WHEN c.relrowsecurity THEN 'enabled' ELSE 'disabled' END END,
  'forced row level security', CASE WHEN c.relforcerowsecurity THEN 'on' END,
  'persistence', CASE c.relpersistence WHEN 'u' THEN 'unlogged' WHEN 't' THEN 'temporary' END,
  'definition', CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END,
  'options', array_to_string(c.reloptions, ', '),
  'partition key', CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
  'partition of', CASE WHEN c.relispartition THEN (SELECT i.inhparent::regclass::text || ' ' || pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i WHERE i.inhrelid = c.oid) END,
  'inherits', (SELECT string_agg(i.inhparent::regclass::text, ', ' ORDER BY i.inhseqno) FROM pg_inherits i WHERE i.inhrelid = c.oid AND NOT c.relispartition),
  'replica identity', CASE c.relreplident WHEN 'f' THEN 'full' WHEN 'n' THEN 'nothing' WHEN 'i' THEN 'index' END,
  'comment', (SELECT description FROM pg_description WHERE objoid = c.oid AND classoid = 'pg_class'::regclass AND objsubid = 0))
  || CASE WHEN s.seqrelid IS NULL THEN '{}'::jsonb ELSE jsonb_build_object(
  'type', format_type(s.seqtypid, NULL), 'start', s.seqstart::text, 'increment', s.seqincrement::text,
  'minimum', s.seqmin::text, 'maximum', s.seqmax::text, 'cache', s.seqcache::text,
  'cycle', CASE WHEN s.seqcycle THEN 'yes' ELSE 'no' END,
  'owned by', (SELECT d.refobjid::regclass::text || '.' || quote_ident(a.attname) FROM pg_depend d
     JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
     WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1)) END)::text,
  'c' || r.oid, NULL, r.nspname
FROM rel r JOIN pg_class c ON c.oid = r.oid LEFT JOIN pg_sequence s ON s.seqrelid = c.oid

UNION ALL
SELECT 'column', r.name || '.' || quote_ident(a.attname), jsonb_build_object(
  'position', row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
  'type', format_type(a.atttypid, a.atttypmod),
  'nullability', CASE WHEN a.attnotnull THEN 'NOT NULL' ELSE 'nullable' END,
  'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
  'generated', CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
  'identity', CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
  'collation', CASE WHEN a.attcollation <> 0 AND a.attcollation <> (SELECT typcollation FROM pg_type WHERE oid = a.atttypid) THEN (SELECT quote_ident(collname) FROM pg_collation WHERE oid = a.attcollation) END,
  'storage', CASE WHEN a.attstorage <> (SELECT typstorage FROM pg_type WHERE oid = a.atttypid) THEN a.attstorage::text END,
  'comment', (SELECT description FROM pg_description WHERE objoid = a.attrelid AND classoid = 'pg_class'::regclass AND objsubid = a.attnum))::text, 'c' || r.oid, 'a' || ad.oid, r.nspname
FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE r.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped

UNION ALL
SELECT 'constraint', quote_ident(co.conname) || ' on ' || r.name, jsonb_build_object(
  'type', CASE co.contype WHEN 'p' THEN 'primary key' WHEN 'f' THEN 'foreign key' WHEN 'u' THEN 'unique'
    WHEN 'c' THEN 'check' WHEN 'x' THEN 'exclusion' WHEN 't' THEN 'constraint trigger' WHEN 'n' THEN 'not null' END,
  'definition', pg_get_constraintdef(co.oid),
  'deferrable', CASE WHEN co.condeferrable THEN CASE WHEN co.condeferred THEN 'initially deferred' ELSE 'initially immediate' END END,
  'validated', CASE WHEN NOT co.convalidated THEN 'no' END,
  'inherited', CASE WHEN co.conparentid <> 0 OR NOT co.conislocal THEN 'yes' END,
  'comment', (SELECT description FROM pg_description WHERE objoid = co.oid AND classoid = 'pg_constraint'::regclass AND objsubid = 0))::text, 'c' || r.oid, 'k' || co.oid, r.nspname
FROM pg_constraint co JOIN rel r ON r.oid = co.conrelid

UNION ALL
SELECT 'index', quote_ident(ic.relname) || ' on ' || r.name, jsonb_build_object(
  'definition', pg_get_indexdef(i.indexrelid),
  'clustered', CASE WHEN i.indisclustered THEN 'yes' END,
  'partition of', (SELECT ih.inhparent::regclass::text FROM pg_inherits ih WHERE ih.inhrelid = i.indexrelid),
  'comment', (SELECT description FROM pg_description WHERE objoid = i.indexrelid AND classoid = 'pg_class'::regclass AND objsubid = 0))::text, 'c' || r.oid, 'i' || i.indexrelid, r.nspname
FROM pg_index i JOIN rel r ON r.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid

UNION ALL
SELECT f.kind, f.name, jsonb_build_object(
  'arguments', pg_get_function_arguments(p.oid),
  'returns', CASE WHEN p.prokind IN ('f', 'w') THEN pg_get_function_result(p.oid) END,
  'language', l.lanname,
  'volatility', CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END,
  'security', CASE WHEN p.prosecdef THEN 'definer' ELSE 'invoker' END,
  'strict', CASE WHEN p.proisstrict THEN 'yes' ELSE 'no' END,
  'leakproof', CASE WHEN p.proleakproof THEN 'yes' END,
  'parallel', CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted' ELSE 'unsafe' END,
  'cost', p.procost::text,
  'rows', CASE WHEN p.proretset THEN p.prorows::text END,
  'settings', array_to_string(p.proconfig, ', '),
  'body', {{function_body}},
  'owner', pg_get_userbyid(p.proowner),
  'comment', (SELECT description FROM pg_description WHERE objoid = p.oid AND classoid = 'pg_proc'::regclass AND objsubid = 0))::text, 'p' || f.oid, NULL, f.nspname
FROM fn f JOIN pg_proc p ON p.oid = f.oid JOIN pg_language l ON l.oid = p.prolang

UNION ALL
SELECT 'trigger', quote_ident(t.tgname) || ' on ' || r.name, jsonb_build_object(
  'definition', pg_get_triggerdef(t.oid),
  'enabled', CASE t.tgenabled WHEN 'O' THEN 'yes' WHEN 'D' THEN 'no' WHEN 'R' THEN 'replica only' WHEN 'A' THEN 'always' END,
  'inherited', CASE WHEN t.tgparentid <> 0 THEN 'yes' END,
  'comment', (SELECT description FROM pg_description WHERE objoid = t.oid AND classoid = 'pg_trigger'::regclass AND objsubid = 0))::text, 'c' || r.oid, 'g' || t.oid, r.nspname
FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid
WHERE NOT t.tgisinternal

UNION ALL
SELECT 'policy', quote_ident(po.polname) || ' on ' || r.name, jsonb_build_object(
  'command', CASE po.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
  'type', CASE WHEN po.polpermissive THEN 'permissive' ELSE 'restrictive' END,
  'roles', (SELECT string_agg(rn.name, ', ' ORDER BY rn.name) FROM unnest(po.polroles) pr JOIN role_name rn ON rn.oid = pr),
  'using', pg_get_expr(po.polqual, po.polrelid),
  'with check', pg_get_expr(po.polwithcheck, po.polrelid),
  'comment', (SELECT description FROM pg_description WHERE objoid = po.oid AND classoid = 'pg_policy'::regclass AND objsubid = 0))::text, 'c' || r.oid, 'o' || po.oid, r.nspname
FROM pg_policy po JOIN rel r ON r.oid = po.polrelid

UNION ALL
SELECT 'rule', quote_ident(ru.rulename) || ' on ' || r.name, jsonb_build_object('definition', pg_get_ruledef(ru.oid))::text, 'c' || r.oid, 'w' || ru.oid, r.nspname
FROM pg_rewrite ru JOIN rel r ON r.oid = ru.ev_class
WHERE ru.rulename <> '_RETURN'

UNION ALL
SELECT t.kind, t.name, jsonb_build_object(
  'labels', CASE WHEN t.typtype = 'e' THEN (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) END,
  'attributes', CASE WHEN t.typtype = 'c' THEN (SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
     FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) END,
  'base type', CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
  'not null', CASE WHEN t.typtype = 'd' AND t.typnotnull THEN 'yes' END,
  'default', CASE WHEN t.typtype = 'd' THEN pg_get_expr(t.typdefaultbin, 0) END,
  'range of', CASE WHEN t.typtype = 'r' THEN (SELECT format_type(rngsubtype, NULL) FROM pg_range WHERE rngtypid = t.oid) END,
  'owner', pg_get_userbyid(t.typowner),
  'comment', (SELECT description FROM pg_description WHERE objoid = t.oid AND classoid = 'pg_type'::regclass AND objsubid = 0))::text, 't' || t.oid, NULL, t.nspname
FROM typ t

UNION ALL
SELECT 'constraint', quote_ident(co.conname) || ' on domain ' || t.name, jsonb_build_object(
  'definition', pg_get_constraintdef(co.oid))::text, 't' || t.oid, 'k' || co.oid, t.nspname
FROM pg_constraint co JOIN typ t ON t.oid = co.contypid

UNION ALL
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
SELECT 'privilege', g.privilege_type || ' on ' || gr.on_what || ' to ' || rn.name, jsonb_build_object(
  'with grant option', CASE WHEN g.is_grantable THEN 'yes' ELSE 'no' END)::text, gr.tracked_by, NULL, NULL
FROM grants gr
CROSS JOIN LATERAL aclexplode(coalesce(gr.acl, CASE WHEN gr.default_kind IS NULL THEN '{}'::aclitem[] ELSE acldefault(gr.default_kind::"char", gr.owner) END)) g
JOIN role_name rn ON rn.oid = g.grantee

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
