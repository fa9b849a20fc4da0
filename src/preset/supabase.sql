-- The Supabase preset: what Supabase migrations and policies expect of the database, on a plain
-- PostgreSQL. Every piece is created only when missing, so that an image that already has it
-- (supabase/postgres) is left alone. Shapes and bodies follow Supabase's own (GoTrue's auth
-- schema, the storage schema, the default privileges on public).

DO $preset$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', r);
    END IF;
  END LOOP;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') THEN
    CREATE ROLE authenticator LOGIN NOINHERIT;
  END IF;
  -- On Supabase, postgres owns the app's objects and bypasses RLS; suites `set role postgres`.
  -- A server whose first user has another name lacks it: a superuser that cannot log in (only
  -- a superuser may SET ROLE to it), or, made by a user that is not one, a role that bypasses RLS
  -- when that user may give it.
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'postgres') THEN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
      CREATE ROLE postgres NOLOGIN SUPERUSER;
    ELSE
      CREATE ROLE postgres NOLOGIN;
      EXECUTE format('GRANT postgres TO %I', current_user);
    END IF;
  END IF;
  IF NOT (SELECT rolbypassrls FROM pg_roles WHERE rolname = 'service_role') THEN
    ALTER ROLE service_role BYPASSRLS;
  END IF;
  -- authenticator switches to them; the migration user too, so that tests can SET ROLE.
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
    IF NOT pg_has_role('authenticator', r, 'MEMBER') THEN
      EXECUTE format('GRANT %I TO authenticator', r);
    END IF;
    IF NOT pg_has_role(current_user, r, 'MEMBER') THEN
      EXECUTE format('GRANT %I TO %I', r, current_user);
    END IF;
  END LOOP;
END
$preset$;

CREATE SCHEMA IF NOT EXISTS extensions;
GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA extensions;

CREATE SCHEMA IF NOT EXISTS auth;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;

DO $preset$
BEGIN
  IF to_regclass('auth.users') IS NULL THEN
    CREATE TABLE auth.users (
      instance_id uuid NULL,
      id uuid NOT NULL PRIMARY KEY,
      aud varchar(255) NULL,
      "role" varchar(255) NULL,
      email varchar(255) NULL,
      encrypted_password varchar(255) NULL,
      email_confirmed_at timestamptz NULL,
      invited_at timestamptz NULL,
      confirmation_token varchar(255) NULL,
      confirmation_sent_at timestamptz NULL,
      recovery_token varchar(255) NULL,
      recovery_sent_at timestamptz NULL,
      email_change_token_new varchar(255) NULL,
      email_change varchar(255) NULL,
      email_change_sent_at timestamptz NULL,
      last_sign_in_at timestamptz NULL,
      raw_app_meta_data jsonb NULL,
      raw_user_meta_data jsonb NULL,
      is_super_admin bool NULL,
      created_at timestamptz NULL,
      updated_at timestamptz NULL,
      phone text NULL UNIQUE DEFAULT NULL,
      phone_confirmed_at timestamptz NULL,
      phone_change text NULL DEFAULT '',
      phone_change_token varchar(255) NULL DEFAULT '',
      phone_change_sent_at timestamptz NULL,
      confirmed_at timestamptz GENERATED ALWAYS AS (LEAST(email_confirmed_at, phone_confirmed_at)) STORED,
      email_change_token_current varchar(255) NULL DEFAULT '',
      email_change_confirm_status smallint NULL DEFAULT 0 CHECK (email_change_confirm_status >= 0 AND email_change_confirm_status <= 2),
      banned_until timestamptz NULL,
      reauthentication_token varchar(255) NULL DEFAULT '',
      reauthentication_sent_at timestamptz NULL,
      is_sso_user boolean NOT NULL DEFAULT false,
      deleted_at timestamptz NULL,
      is_anonymous boolean NOT NULL DEFAULT false
    );
    CREATE INDEX users_instance_id_idx ON auth.users USING btree (instance_id);
    CREATE INDEX users_email_partial_key ON auth.users (email) WHERE is_sso_user = false;
    COMMENT ON TABLE auth.users IS 'Auth: Stores user login data within a secure schema.';
    ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
  END IF;
END
$preset$;

DO $preset$
BEGIN
  IF to_regprocedure('auth.uid()') IS NULL THEN
    CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $f$
      select
      coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
      )::uuid
    $f$;
    COMMENT ON FUNCTION auth.uid() IS 'Deprecated. Use auth.jwt() -> ''sub'' instead.';
  END IF;
  IF to_regprocedure('auth.role()') IS NULL THEN
    CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $f$
      select
      coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
      )::text
    $f$;
    COMMENT ON FUNCTION auth.role() IS 'Deprecated. Use auth.jwt() -> ''role'' instead.';
  END IF;
  IF to_regprocedure('auth.email()') IS NULL THEN
    CREATE FUNCTION auth.email() RETURNS text LANGUAGE sql STABLE AS $f$
      select
      coalesce(
        nullif(current_setting('request.jwt.claim.email', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
      )::text
    $f$;
    COMMENT ON FUNCTION auth.email() IS 'Deprecated. Use auth.jwt() -> ''email'' instead.';
  END IF;
  IF to_regprocedure('auth.jwt()') IS NULL THEN
    CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $f$
      select
        coalesce(
            nullif(current_setting('request.jwt.claim', true), ''),
            nullif(current_setting('request.jwt.claims', true), '')
        )::jsonb
    $f$;
  END IF;
END
$preset$;

CREATE SCHEMA IF NOT EXISTS storage;
GRANT USAGE ON SCHEMA storage TO anon, authenticated, service_role;
DO $preset$
BEGIN
  IF to_regclass('storage.buckets') IS NULL THEN
    CREATE TABLE storage.buckets (
      id text NOT NULL PRIMARY KEY,
      name text NOT NULL,
      owner uuid NULL,
      created_at timestamptz NULL DEFAULT now(),
      updated_at timestamptz NULL DEFAULT now(),
      public boolean NULL DEFAULT false,
      avif_autodetection boolean NULL DEFAULT false,
      file_size_limit bigint NULL,
      allowed_mime_types text[] NULL,
      owner_id text NULL
    );
    CREATE UNIQUE INDEX bname ON storage.buckets USING btree (name);
    CREATE TABLE storage.objects (
      id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
      bucket_id text NULL REFERENCES storage.buckets (id),
      name text NULL,
      owner uuid NULL,
      created_at timestamptz NULL DEFAULT now(),
      updated_at timestamptz NULL DEFAULT now(),
      last_accessed_at timestamptz NULL DEFAULT now(),
      metadata jsonb NULL,
      path_tokens text[] GENERATED ALWAYS AS (string_to_array(name, '/')) STORED,
      version text NULL,
      owner_id text NULL,
      user_metadata jsonb NULL
    );
    CREATE UNIQUE INDEX bucketid_objname ON storage.objects USING btree (bucket_id, name);
    CREATE INDEX name_prefix_search ON storage.objects USING btree (name text_pattern_ops);
    ALTER TABLE storage.buckets ENABLE ROW LEVEL SECURITY;
    ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
    GRANT ALL ON storage.buckets, storage.objects TO anon, authenticated, service_role;
  END IF;
END
$preset$;

DO $preset$
BEGIN
  IF to_regprocedure('storage.foldername(text)') IS NULL THEN
    CREATE FUNCTION storage.foldername(name text) RETURNS text[] LANGUAGE plpgsql AS $f$
    DECLARE
    _parts text[];
    BEGIN
        select string_to_array(name, '/') into _parts;
        return _parts[1:array_length(_parts,1)-1];
    END
    $f$;
  END IF;
  IF to_regprocedure('storage.filename(text)') IS NULL THEN
    CREATE FUNCTION storage.filename(name text) RETURNS text LANGUAGE plpgsql AS $f$
    DECLARE
    _parts text[];
    BEGIN
        select string_to_array(name, '/') into _parts;
        return _parts[array_length(_parts,1)];
    END
    $f$;
  END IF;
  IF to_regprocedure('storage.extension(text)') IS NULL THEN
    CREATE FUNCTION storage.extension(name text) RETURNS text LANGUAGE plpgsql AS $f$
    DECLARE
    _parts text[];
    _filename text;
    BEGIN
        select string_to_array(name, '/') into _parts;
        select _parts[array_length(_parts,1)] into _filename;
        return reverse(split_part(reverse(_filename), '.', 1));
    END
    $f$;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime') THEN
    CREATE PUBLICATION supabase_realtime;
  END IF;
END
$preset$;

-- Supabase's default privileges: the API roles use what the migrations create in public.
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
GRANT ALL ON ALL TABLES IN SCHEMA public TO anon, authenticated, service_role;
GRANT ALL ON ALL FUNCTIONS IN SCHEMA public TO anon, authenticated, service_role;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;

-- As on Supabase, unqualified names find the extensions.
SELECT set_config('search_path', '"$user", public, extensions', false);
