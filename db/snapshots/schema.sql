-- The schema after migration 006_users_locale
-- Written by dbgate snapshot from the migrated schema: `dbgate snapshot --write` writes it again.

-- Schemas

CREATE SCHEMA app;
COMMENT ON SCHEMA app IS 'Internal helpers (identity, triggers); not part of the public API.';

-- Roles

CREATE ROLE app_user NOLOGIN;

-- Types

CREATE TYPE public.export_status AS ENUM ('pending', 'running', 'succeeded', 'failed', 'expired');
COMMENT ON TYPE public.export_status IS 'Lifecycle of an export request.';

-- Tables

CREATE TABLE public.export_history (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    format text DEFAULT 'json'::text NOT NULL,
    status public.export_status DEFAULT 'pending'::public.export_status NOT NULL,
    file_size_bytes bigint,
    error_message text,
    requested_at timestamp with time zone DEFAULT now() NOT NULL,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT export_history_failed_check CHECK (((status <> 'failed'::public.export_status) OR (error_message IS NOT NULL))),
    CONSTRAINT export_history_file_size_check CHECK (((file_size_bytes IS NULL) OR (file_size_bytes >= 0))),
    CONSTRAINT export_history_format_check CHECK ((format = ANY (ARRAY['csv'::text, 'json'::text, 'ndjson'::text]))),
    CONSTRAINT export_history_pkey PRIMARY KEY (id),
    CONSTRAINT export_history_succeeded_check CHECK (((status <> 'succeeded'::public.export_status) OR ((finished_at IS NOT NULL) AND (file_size_bytes IS NOT NULL)))),
    CONSTRAINT export_history_timeline_check CHECK ((((started_at IS NULL) OR (started_at >= requested_at)) AND ((finished_at IS NULL) OR (finished_at >= COALESCE(started_at, requested_at))))),
    CONSTRAINT export_history_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE
);
ALTER TABLE public.export_history ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE public.export_history IS 'Data exports requested by users and their outcome.';
COMMENT ON COLUMN public.export_history.file_size_bytes IS 'Size of the produced file; set once the export succeeded.';

CREATE TABLE public.user_api_keys (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    name text NOT NULL,
    key_prefix text NOT NULL,
    key_hash bytea NOT NULL,
    scopes text[] DEFAULT '{}'::text[] NOT NULL,
    last_used_at timestamp with time zone,
    expires_at timestamp with time zone,
    revoked_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT user_api_keys_expires_after_created_check CHECK (((expires_at IS NULL) OR (expires_at > created_at))),
    CONSTRAINT user_api_keys_key_hash_check CHECK ((octet_length(key_hash) = 32)),
    CONSTRAINT user_api_keys_key_hash_key UNIQUE (key_hash),
    CONSTRAINT user_api_keys_key_prefix_check CHECK ((key_prefix ~ '^[A-Za-z0-9]{8}$'::text)),
    CONSTRAINT user_api_keys_name_check CHECK (((char_length(name) >= 1) AND (char_length(name) <= 64))),
    CONSTRAINT user_api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT user_api_keys_revoked_after_created_check CHECK (((revoked_at IS NULL) OR (revoked_at >= created_at))),
    CONSTRAINT user_api_keys_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE,
    CONSTRAINT user_api_keys_user_id_name_key UNIQUE (user_id, name)
);
ALTER TABLE public.user_api_keys ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE public.user_api_keys IS 'API keys issued to users; the secret itself is never stored.';
COMMENT ON COLUMN public.user_api_keys.key_hash IS 'sha256() of the full secret key (32 bytes).';
COMMENT ON COLUMN public.user_api_keys.key_prefix IS 'First 8 characters of the key, shown in the UI and used for lookup.';

CREATE TABLE public.user_progress (
    user_id uuid NOT NULL,
    lesson_id text NOT NULL,
    percent smallint DEFAULT 0 NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    completed_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT user_progress_completed_after_started_check CHECK (((completed_at IS NULL) OR (completed_at >= started_at))),
    CONSTRAINT user_progress_completed_check CHECK (((completed_at IS NOT NULL) = (percent = 100))),
    CONSTRAINT user_progress_lesson_id_check CHECK ((lesson_id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'::text)),
    CONSTRAINT user_progress_percent_check CHECK (((percent >= 0) AND (percent <= 100))),
    CONSTRAINT user_progress_pkey PRIMARY KEY (user_id, lesson_id),
    CONSTRAINT user_progress_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE
);
ALTER TABLE public.user_progress ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE public.user_progress IS 'How far each user has got in each lesson.';
COMMENT ON COLUMN public.user_progress.percent IS 'Completion percentage, 0..100; 100 means completed.';

CREATE TABLE public.users (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    email text NOT NULL,
    display_name text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    locale text DEFAULT 'en'::text NOT NULL,
    CONSTRAINT users_display_name_length_check CHECK (((display_name IS NULL) OR ((char_length(display_name) >= 1) AND (char_length(display_name) <= 100)))),
    CONSTRAINT users_email_format_check CHECK (((email ~ '^[^@[:space:]]+@[^@[:space:]]+$'::text) AND (char_length(email) <= 320))),
    CONSTRAINT users_locale_check CHECK ((locale ~ '^[a-z]{2}(-[A-Z]{2})?$'::text)),
    CONSTRAINT users_pkey PRIMARY KEY (id)
);
ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE public.users IS 'Application accounts, one per person.';
COMMENT ON COLUMN public.users.email IS 'Login e-mail; unique case-insensitively.';
COMMENT ON COLUMN public.users.locale IS 'BCP 47 language tag used for e-mails and exports, e.g. en or pt-BR.';

-- Indexes

CREATE INDEX export_history_queue_idx ON public.export_history USING btree (requested_at) WHERE (status = ANY (ARRAY['pending'::public.export_status, 'running'::public.export_status]));
CREATE INDEX export_history_user_requested_idx ON public.export_history USING btree (user_id, requested_at DESC);
CREATE INDEX user_api_keys_active_prefix_idx ON public.user_api_keys USING btree (key_prefix) WHERE (revoked_at IS NULL);
CREATE INDEX user_progress_lesson_completed_idx ON public.user_progress USING btree (lesson_id, completed_at DESC);
CREATE UNIQUE INDEX users_email_lower_key ON public.users USING btree (lower(email));

-- Views

CREATE VIEW public.user_progress_summary WITH (security_invoker=true) AS
 SELECT p.user_id,
    count(*) AS lessons_started,
    count(*) FILTER (WHERE (p.completed_at IS NOT NULL)) AS lessons_completed,
    round(avg(p.percent), 1) AS average_percent,
    max(p.updated_at) AS last_activity_at
   FROM public.user_progress p
  GROUP BY p.user_id;
COMMENT ON VIEW public.user_progress_summary IS 'Per-user totals over user_progress.';

-- Functions

CREATE FUNCTION app.current_user_id()
    RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = ''
AS $$
    SELECT NULLIF(pg_catalog.current_setting('app.user_id', true), '')::uuid
$$;
COMMENT ON ROUTINE app.current_user_id() IS 'The uuid in the app.user_id setting, or NULL when it is unset or empty.';

CREATE FUNCTION app.export_history_track_status()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF NEW.status = 'running'::public.export_status AND NEW.started_at IS NULL THEN
            NEW.started_at := pg_catalog.now();
        ELSIF NEW.status IN ('succeeded'::public.export_status, 'failed'::public.export_status)
              AND NEW.finished_at IS NULL THEN
            NEW.finished_at := pg_catalog.now();
        END IF;
    END IF;
    RETURN NEW;
END
$$;

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
COMMENT ON ROUTINE app.set_updated_at() IS 'BEFORE UPDATE row trigger: stamps NEW.updated_at with the transaction time.';

CREATE FUNCTION app.user_api_keys_guard()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
BEGIN
    IF OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at THEN
        RAISE EXCEPTION 'API key % is revoked and cannot be changed back', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.key_hash <> OLD.key_hash OR NEW.key_prefix <> OLD.key_prefix THEN
        RAISE EXCEPTION 'the secret of API key % cannot be changed; issue a new key', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION app.user_progress_sync_completion()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
BEGIN
    IF NEW.percent = 100 THEN
        IF TG_OP = 'INSERT' OR OLD.percent IS DISTINCT FROM 100 OR NEW.completed_at IS NULL THEN
            NEW.completed_at := pg_catalog.now();
        END IF;
    ELSE
        NEW.completed_at := NULL;
    END IF;
    RETURN NEW;
END
$$;

-- Triggers

CREATE TRIGGER export_history_set_updated_at BEFORE UPDATE ON public.export_history FOR EACH ROW EXECUTE FUNCTION app.set_updated_at();
CREATE TRIGGER export_history_track_status BEFORE UPDATE OF status ON public.export_history FOR EACH ROW EXECUTE FUNCTION app.export_history_track_status();
CREATE TRIGGER user_api_keys_guard BEFORE UPDATE ON public.user_api_keys FOR EACH ROW EXECUTE FUNCTION app.user_api_keys_guard();
CREATE TRIGGER user_api_keys_set_updated_at BEFORE UPDATE ON public.user_api_keys FOR EACH ROW EXECUTE FUNCTION app.set_updated_at();
CREATE TRIGGER user_progress_set_updated_at BEFORE UPDATE ON public.user_progress FOR EACH ROW EXECUTE FUNCTION app.set_updated_at();
CREATE TRIGGER user_progress_sync_completion BEFORE INSERT OR UPDATE ON public.user_progress FOR EACH ROW EXECUTE FUNCTION app.user_progress_sync_completion();
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION app.set_updated_at();

-- Policies

CREATE POLICY export_history_delete_own ON public.export_history AS PERMISSIVE FOR DELETE TO app_user
    USING ((user_id = ( SELECT app.current_user_id() AS current_user_id)));
CREATE POLICY export_history_insert_own ON public.export_history AS PERMISSIVE FOR INSERT TO app_user
    WITH CHECK (((user_id = ( SELECT app.current_user_id() AS current_user_id)) AND (status = 'pending'::public.export_status)));
CREATE POLICY export_history_select_own ON public.export_history AS PERMISSIVE FOR SELECT TO app_user
    USING ((user_id = ( SELECT app.current_user_id() AS current_user_id)));
CREATE POLICY export_history_update_own ON public.export_history AS PERMISSIVE FOR UPDATE TO app_user
    USING (((user_id = ( SELECT app.current_user_id() AS current_user_id)) AND (status = ANY (ARRAY['pending'::public.export_status, 'running'::public.export_status]))))
    WITH CHECK (((user_id = ( SELECT app.current_user_id() AS current_user_id)) AND (status = ANY (ARRAY['pending'::public.export_status, 'expired'::public.export_status]))));
CREATE POLICY user_api_keys_delete_own ON public.user_api_keys AS PERMISSIVE FOR DELETE TO app_user
    USING ((user_id = ( SELECT app.current_user_id() AS current_user_id)));
CREATE POLICY user_api_keys_insert_own ON public.user_api_keys AS PERMISSIVE FOR INSERT TO app_user
    WITH CHECK (((user_id = ( SELECT app.current_user_id() AS current_user_id)) AND (revoked_at IS NULL)));
CREATE POLICY user_api_keys_select_own ON public.user_api_keys AS PERMISSIVE FOR SELECT TO app_user
    USING ((user_id = ( SELECT app.current_user_id() AS current_user_id)));
CREATE POLICY user_api_keys_update_own ON public.user_api_keys AS PERMISSIVE FOR UPDATE TO app_user
    USING ((user_id = ( SELECT app.current_user_id() AS current_user_id)))
    WITH CHECK ((user_id = ( SELECT app.current_user_id() AS current_user_id)));
CREATE POLICY user_progress_delete_own ON public.user_progress AS PERMISSIVE FOR DELETE TO app_user
    USING ((user_id = ( SELECT app.current_user_id() AS current_user_id)));
CREATE POLICY user_progress_insert_own ON public.user_progress AS PERMISSIVE FOR INSERT TO app_user
    WITH CHECK ((user_id = ( SELECT app.current_user_id() AS current_user_id)));
CREATE POLICY user_progress_select_own ON public.user_progress AS PERMISSIVE FOR SELECT TO app_user
    USING ((user_id = ( SELECT app.current_user_id() AS current_user_id)));
CREATE POLICY user_progress_update_own ON public.user_progress AS PERMISSIVE FOR UPDATE TO app_user
    USING ((user_id = ( SELECT app.current_user_id() AS current_user_id)))
    WITH CHECK ((user_id = ( SELECT app.current_user_id() AS current_user_id)));
CREATE POLICY users_delete_own ON public.users AS PERMISSIVE FOR DELETE TO app_user
    USING ((id = ( SELECT app.current_user_id() AS current_user_id)));
CREATE POLICY users_insert_own ON public.users AS PERMISSIVE FOR INSERT TO app_user
    WITH CHECK ((id = ( SELECT app.current_user_id() AS current_user_id)));
CREATE POLICY users_select_own ON public.users AS PERMISSIVE FOR SELECT TO app_user
    USING ((id = ( SELECT app.current_user_id() AS current_user_id)));
CREATE POLICY users_update_own ON public.users AS PERMISSIVE FOR UPDATE TO app_user
    USING ((id = ( SELECT app.current_user_id() AS current_user_id)))
    WITH CHECK ((id = ( SELECT app.current_user_id() AS current_user_id)));

-- Grants

GRANT EXECUTE ON FUNCTION app.current_user_id() TO app_user;
GRANT USAGE ON SCHEMA app TO app_user;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public.export_history TO app_user;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public.user_api_keys TO app_user;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public.user_progress TO app_user;
GRANT SELECT ON TABLE public.user_progress_summary TO app_user;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public.users TO app_user;
REVOKE EXECUTE ON FUNCTION app.current_user_id() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION app.export_history_track_status() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION app.set_updated_at() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION app.user_api_keys_guard() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION app.user_progress_sync_completion() FROM PUBLIC;

-- Default privileges

ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT DELETE, INSERT, SELECT, UPDATE ON TABLES TO app_user;
