-- One row per privilege granted on an object of the `grants` CTE.
SELECT 'privilege', g.privilege_type || ' on ' || gr.on_what || ' to ' || rn.name, jsonb_build_object(
  'with grant option', CASE WHEN g.is_grantable THEN 'yes' ELSE 'no' END)::text, gr.tracked_by, NULL, NULL
FROM grants gr
CROSS JOIN LATERAL aclexplode(coalesce(gr.acl, CASE WHEN gr.default_kind IS NULL THEN '{}'::aclitem[] ELSE acldefault(gr.default_kind::"char", gr.owner) END)) g
JOIN role_name rn ON rn.oid = g.grantee
