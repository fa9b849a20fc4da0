-- Schemas ('n' || oid), with their privileges.
WITH {{user_ns}},
{{role_name}},
grants(on_what, acl, owner, default_kind, tracked_by) AS (
  SELECT 'schema ' || quote_ident(n.nspname), n.nspacl, n.nspowner, 'n', 'n' || n.oid FROM pg_namespace n JOIN user_ns USING (oid) WHERE {{schemas}}
)
SELECT 'schema', quote_ident(n.nspname), jsonb_build_object(
  'owner', pg_get_userbyid(n.nspowner),
  'comment', (SELECT description FROM pg_description WHERE objoid = n.oid AND classoid = 'pg_namespace'::regclass AND objsubid = 0))::text, 'n' || n.oid, NULL, NULL
FROM pg_namespace n JOIN user_ns USING (oid)
WHERE {{schemas}}

UNION ALL
{{privileges}}
