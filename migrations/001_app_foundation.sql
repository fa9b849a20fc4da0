-- 001: application foundation.
--
-- * `app_user`: the NOLOGIN role the application connects as (via SET ROLE or
--   membership). Roles are cluster-wide, so creation is guarded.
-- * schema `app` holding helper functions that are not part of the public API.
-- * app.current_user_id(): the identity source for every RLS policy. The
--   application sets it per transaction with
--       SELECT set_config('app.user_id', '<uuid>', true);
--   An unset or reset setting yields NULL (never a cast error), so policies
--   simply match no rows.
-- * app.set_updated_at(): generic BEFORE UPDATE trigger function that later
--   migrations attach to every table with an `updated_at` column.
-- * default privileges: every table/view the migrating role creates in
--   `public` from now on is readable and writable by app_user (RLS decides
--   which rows).

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'app_user') THEN
        CREATE ROLE app_user NOLOGIN;
    END IF;
END
$$;

CREATE SCHEMA app;
COMMENT ON SCHEMA app IS 'Internal helpers (identity, triggers); not part of the public API.';
GRANT USAGE ON SCHEMA app TO app_user;

CREATE FUNCTION app.current_user_id()
    RETURNS uuid
    LANGUAGE sql
    STABLE
    PARALLEL SAFE
    SET search_path = ''
AS $$
    SELECT NULLIF(pg_catalog.current_setting('app.user_id', true), '')::uuid
$$;
COMMENT ON FUNCTION app.current_user_id() IS
    'The uuid in the app.user_id setting, or NULL when it is unset or empty.';
REVOKE EXECUTE ON FUNCTION app.current_user_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.current_user_id() TO app_user;

CREATE FUNCTION app.set_updated_at()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
BEGIN
    NEW.updated_at := pg_catalog.now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION app.set_updated_at() IS
    'BEFORE UPDATE row trigger: stamps NEW.updated_at with the transaction time.';
REVOKE EXECUTE ON FUNCTION app.set_updated_at() FROM PUBLIC;

ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO app_user;
