-- Types ('t' || oid): enums, domains (with their constraints), ranges and composite types, with
-- their privileges.
WITH {{user_ns}},
typ AS (
  SELECT t.oid, t.typowner, t.typacl, t.typtype, ns.nspname, format('%I.%I', ns.nspname, t.typname) AS name,
         CASE t.typtype WHEN 'e' THEN 'enum type' WHEN 'd' THEN 'domain' WHEN 'r' THEN 'range type' ELSE 'composite type' END AS kind,
         t.typrelid, t.typbasetype, t.typtypmod, t.typnotnull, t.typdefaultbin
  FROM {{types}} JOIN user_ns ns ON ns.oid = t.typnamespace
  WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c'))
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
),
{{role_name}},
grants(on_what, acl, owner, default_kind, tracked_by) AS (
  SELECT kind || ' ' || name, typacl, typowner, 'T', 't' || oid FROM typ
)
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
{{privileges}}
