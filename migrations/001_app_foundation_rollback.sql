-- Rollback of 001: remove the default privileges first (they reference
-- app_user), then the schema and its functions, and finally the role.
--
-- Roles are cluster-wide and the up only creates app_user when it is missing,
-- so this rollback is exact on a fresh cluster (where dbgate runs it). If
-- app_user already existed before 001, it is still dropped here.

ALTER DEFAULT PRIVILEGES IN SCHEMA public
    REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM app_user;

DROP FUNCTION app.set_updated_at();
DROP FUNCTION app.current_user_id();
DROP SCHEMA app;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'app_user') THEN
        DROP ROLE app_user;
    END IF;
END
$$;
