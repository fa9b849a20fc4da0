-- Role oid -> name as a privilege or policy prints it (0: PUBLIC).
role_name(oid, name) AS (
  SELECT 0::oid, 'PUBLIC' UNION ALL SELECT oid, quote_ident(rolname) FROM pg_roles
)
