-- Relations ('c' || oid): tables, views, materialized views, sequences and foreign tables, with
-- their columns, constraints, indexes, triggers, policies, rules and privileges.
WITH {{user_ns}},
rel AS (
  SELECT c.oid, c.relname, c.relkind, c.relowner, c.relacl, ns.nspname,
         format('%I.%I', ns.nspname, c.relname) AS name,
         CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
           WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' END AS kind
  FROM {{relations}} JOIN user_ns ns ON ns.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
),
{{role_name}},
grants(on_what, acl, owner, default_kind, tracked_by) AS (
  SELECT kind || ' ' || name, relacl, relowner, CASE relkind WHEN 'S' THEN 's' ELSE 'r' END, 'c' || oid FROM rel
  UNION ALL SELECT 'column ' || rel.name || '.' || quote_ident(a.attname), a.attacl, rel.relowner, NULL, 'c' || rel.oid
    FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
)
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
{{privileges}}
