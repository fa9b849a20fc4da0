-- Test helpers in a `tests` schema, compatible with supabase-test-helpers, so that pgTAP suites
-- written against them run unchanged. Installed inside the test transaction (rolled back with
-- it), only when auth.users exists (the Supabase preset, or supabase/postgres).
CREATE SCHEMA IF NOT EXISTS tests;
GRANT USAGE ON SCHEMA tests TO anon, authenticated, service_role;

CREATE OR REPLACE FUNCTION tests.create_supabase_user(identifier text, email text DEFAULT NULL, phone text DEFAULT NULL, metadata jsonb DEFAULT NULL)
RETURNS uuid SECURITY DEFINER SET search_path = auth, pg_temp AS $$
DECLARE
    user_id uuid;
BEGIN
    user_id := gen_random_uuid();
    INSERT INTO auth.users (id, email, phone, raw_user_meta_data, raw_app_meta_data, role, aud, created_at, updated_at)
    VALUES (user_id, coalesce(email, concat(user_id, '@test.com')), phone,
            jsonb_build_object('test_identifier', identifier) || coalesce(metadata, '{}'::jsonb),
            '{}'::jsonb, 'authenticated', 'authenticated', now(), now())
    RETURNING id INTO user_id;
    RETURN user_id;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION tests.get_supabase_user(identifier text)
RETURNS json SECURITY DEFINER SET search_path = auth, pg_temp AS $$
DECLARE
    supabase_user json;
BEGIN
    SELECT json_build_object('id', id, 'email', email, 'phone', phone, 'raw_user_meta_data', raw_user_meta_data, 'raw_app_meta_data', raw_app_meta_data)
    INTO supabase_user
    FROM auth.users
    WHERE raw_user_meta_data ->> 'test_identifier' = identifier LIMIT 1;
    IF supabase_user IS NULL OR supabase_user ->> 'id' IS NULL THEN
        RAISE EXCEPTION 'User with identifier % not found', identifier;
    END IF;
    RETURN supabase_user;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION tests.get_supabase_uid(identifier text)
RETURNS uuid SECURITY DEFINER SET search_path = auth, pg_temp AS $$
DECLARE
    supabase_user uuid;
BEGIN
    SELECT id INTO supabase_user FROM auth.users WHERE raw_user_meta_data ->> 'test_identifier' = identifier LIMIT 1;
    IF supabase_user IS NULL THEN
        RAISE EXCEPTION 'User with identifier % not found', identifier;
    END IF;
    RETURN supabase_user;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION tests.authenticate_as(identifier text)
RETURNS void AS $$
DECLARE
    user_data json;
    original_auth_data text;
BEGIN
    original_auth_data := current_setting('request.jwt.claims', true);
    user_data := tests.get_supabase_user(identifier);
    IF user_data IS NULL OR user_data ->> 'id' IS NULL THEN
        RAISE EXCEPTION 'User with identifier % not found', identifier;
    END IF;
    PERFORM set_config('role', 'authenticated', true);
    PERFORM set_config('request.jwt.claims', json_build_object(
        'sub', user_data ->> 'id',
        'email', user_data ->> 'email',
        'phone', user_data ->> 'phone',
        'user_metadata', user_data -> 'raw_user_meta_data',
        'app_metadata', user_data -> 'raw_app_meta_data',
        'role', 'authenticated'
    )::text, true);
EXCEPTION
    WHEN OTHERS THEN
        PERFORM set_config('request.jwt.claims', original_auth_data, true);
        RAISE;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION tests.authenticate_as_service_role()
RETURNS void AS $$
BEGIN
    PERFORM set_config('role', 'service_role', true);
    PERFORM set_config('request.jwt.claims', json_build_object('role', 'service_role')::text, true);
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION tests.clear_authentication()
RETURNS void AS $$
BEGIN
    PERFORM set_config('role', 'anon', true);
    PERFORM set_config('request.jwt.claims', null, true);
END
$$ LANGUAGE plpgsql;

-- pgTAP assertions: they need pgTAP, which dbgate installs when a test uses it.
CREATE OR REPLACE FUNCTION tests.rls_enabled(testing_schema text)
RETURNS text AS $$
BEGIN
    RETURN is(
        (SELECT count(pc.relname)::integer
         FROM pg_class pc
         JOIN pg_namespace pn ON pn.oid = pc.relnamespace AND pn.nspname = rls_enabled.testing_schema
         WHERE pc.relkind = 'r' AND pc.relrowsecurity = false),
        0,
        'All tables in the ' || testing_schema || ' schema should have row level security enabled');
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION tests.rls_enabled(testing_schema text, testing_table text)
RETURNS text AS $$
BEGIN
    RETURN ok(
        (SELECT relrowsecurity FROM pg_class pc
         JOIN pg_namespace pn ON pn.oid = pc.relnamespace AND pn.nspname = rls_enabled.testing_schema
         WHERE pc.relname = rls_enabled.testing_table AND pc.relkind = 'r'),
        'Table ' || testing_schema || '.' || testing_table || ' should have row level security enabled');
END
$$ LANGUAGE plpgsql;

-- freeze_time: now() (and current_timestamp through it, for code that calls now()) returns the
-- frozen time, through a `test_overrides` schema placed before pg_catalog on the search path.
CREATE SCHEMA IF NOT EXISTS test_overrides;
GRANT USAGE ON SCHEMA test_overrides TO anon, authenticated, service_role;

-- SECURITY DEFINER: a test freezes time as whatever role it plays. No SET clause: the search path
-- set inside must outlive the call.
CREATE OR REPLACE FUNCTION tests.freeze_time(frozen_time timestamptz)
RETURNS void SECURITY DEFINER AS $$
BEGIN
    EXECUTE format('CREATE OR REPLACE FUNCTION test_overrides.now() RETURNS timestamptz LANGUAGE sql STABLE AS $f$ SELECT %L::timestamptz $f$', frozen_time);
    GRANT EXECUTE ON FUNCTION test_overrides.now() TO anon, authenticated, service_role;
    IF current_setting('search_path') NOT LIKE 'test_overrides,%' THEN
        PERFORM set_config('search_path', 'test_overrides, ' || current_setting('search_path') || ', pg_catalog', true);
    END IF;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION tests.unfreeze_time()
RETURNS void SECURITY DEFINER AS $$
BEGIN
    DROP FUNCTION IF EXISTS test_overrides.now();
    PERFORM set_config('search_path', regexp_replace(regexp_replace(current_setting('search_path'), '^test_overrides, ', ''), ', pg_catalog$', ''), true);
END
$$ LANGUAGE plpgsql;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tests TO anon, authenticated, service_role;
