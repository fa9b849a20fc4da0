-- 002: users.

CREATE TABLE public.users (
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    email        text        NOT NULL,
    display_name text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_format_check
        CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' AND char_length(email) <= 320),
    CONSTRAINT users_display_name_length_check
        CHECK (display_name IS NULL OR char_length(display_name) BETWEEN 1 AND 100)
);

COMMENT ON TABLE public.users IS 'Application accounts.';
COMMENT ON COLUMN public.users.email IS 'Login e-mail; unique case-insensitively.';

-- Case-insensitive uniqueness of e-mail addresses.
CREATE UNIQUE INDEX users_email_lower_key ON public.users (lower(email));

CREATE TRIGGER users_set_updated_at
    BEFORE UPDATE ON public.users
    FOR EACH ROW EXECUTE FUNCTION app.set_updated_at();

ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;

CREATE POLICY users_select_own ON public.users
    FOR SELECT TO app_user
    USING (id = (SELECT app.current_user_id()));
CREATE POLICY users_insert_own ON public.users
    FOR INSERT TO app_user
    WITH CHECK (id = (SELECT app.current_user_id()));
CREATE POLICY users_update_own ON public.users
    FOR UPDATE TO app_user
    USING (id = (SELECT app.current_user_id()))
    WITH CHECK (id = (SELECT app.current_user_id()));
CREATE POLICY users_delete_own ON public.users
    FOR DELETE TO app_user
    USING (id = (SELECT app.current_user_id()));
