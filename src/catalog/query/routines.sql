-- Routines ('p' || oid): functions, procedures and aggregates, with their privileges.
WITH {{user_ns}},
fn AS (
  SELECT p.oid, p.proowner, p.proacl, p.prokind, ns.nspname,
         format('%I.%I(%s)', ns.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) AS name,
         CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window function' ELSE 'function' END AS kind
  FROM {{routines}} JOIN user_ns ns ON ns.oid = p.pronamespace
  WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
),
{{role_name}},
grants(on_what, acl, owner, default_kind, tracked_by) AS (
  SELECT kind || ' ' || name, proacl, proowner, 'f', 'p' || oid FROM fn
)
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
{{privileges}}
