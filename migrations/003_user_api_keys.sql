-- 003: per-user API keys. Only a SHA-256 hash of the secret is stored; the
-- short prefix is kept in clear so a presented key can be looked up.

CREATE TABLE public.user_api_keys (
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id      uuid        NOT NULL,
    name         text        NOT NULL,
    key_prefix   text        NOT NULL,
    key_hash     bytea       NOT NULL,
    scopes       text[]      NOT NULL DEFAULT '{}'::text[],
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT user_api_keys_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES public.users (id) ON DELETE CASCADE,
    CONSTRAINT user_api_keys_key_hash_key UNIQUE (key_hash),
    CONSTRAINT user_api_keys_user_id_name_key UNIQUE (user_id, name),
    CONSTRAINT user_api_keys_name_check CHECK (char_length(name) BETWEEN 1 AND 64),
    CONSTRAINT user_api_keys_key_prefix_check CHECK (key_prefix ~ '^[A-Za-z0-9]{8}$'),
    CONSTRAINT user_api_keys_key_hash_check CHECK (octet_length(key_hash) = 32),
    CONSTRAINT user_api_keys_revoked_after_created_check
        CHECK (revoked_at IS NULL OR revoked_at >= created_at),
    CONSTRAINT user_api_keys_expires_after_created_check
        CHECK (expires_at IS NULL OR expires_at > created_at)
);

COMMENT ON TABLE public.user_api_keys IS 'API keys issued to users; the secret itself is never stored.';
COMMENT ON COLUMN public.user_api_keys.key_hash IS 'sha256() of the full secret key (32 bytes).';
COMMENT ON COLUMN public.user_api_keys.key_prefix IS 'First 8 characters of the key, shown in the UI and used for lookup.';

-- Lookups of a presented key only ever consider keys that are not revoked.
CREATE INDEX user_api_keys_active_prefix_idx
    ON public.user_api_keys (key_prefix)
    WHERE revoked_at IS NULL;

-- A revoked key stays revoked, and a key's secret never changes.
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
REVOKE EXECUTE ON FUNCTION app.user_api_keys_guard() FROM PUBLIC;

CREATE TRIGGER user_api_keys_guard
    BEFORE UPDATE ON public.user_api_keys
    FOR EACH ROW EXECUTE FUNCTION app.user_api_keys_guard();

CREATE TRIGGER user_api_keys_set_updated_at
    BEFORE UPDATE ON public.user_api_keys
    FOR EACH ROW EXECUTE FUNCTION app.set_updated_at();

ALTER TABLE public.user_api_keys ENABLE ROW LEVEL SECURITY;

CREATE POLICY user_api_keys_select_own ON public.user_api_keys
    FOR SELECT TO app_user
    USING (user_id = (SELECT app.current_user_id()));
CREATE POLICY user_api_keys_insert_own ON public.user_api_keys
    FOR INSERT TO app_user
    WITH CHECK (user_id = (SELECT app.current_user_id()) AND revoked_at IS NULL);
CREATE POLICY user_api_keys_update_own ON public.user_api_keys
    FOR UPDATE TO app_user
    USING (user_id = (SELECT app.current_user_id()))
    WITH CHECK (user_id = (SELECT app.current_user_id()));
CREATE POLICY user_api_keys_delete_own ON public.user_api_keys
    FOR DELETE TO app_user
    USING (user_id = (SELECT app.current_user_id()));
