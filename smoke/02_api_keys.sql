-- Smoke test: a revoked API key stays revoked.
INSERT INTO public.users (id, email) VALUES ('22222222-2222-4222-8222-222222222222', 'grace@example.com');
INSERT INTO public.user_api_keys (id, user_id, name, key_prefix, key_hash, revoked_at)
VALUES ('33333333-3333-4333-8333-333333333333', '22222222-2222-4222-8222-222222222222', 'ci', 'AbCd1234',
        sha256('secret'::bytea), now());

DO $$
BEGIN
    UPDATE public.user_api_keys SET revoked_at = NULL WHERE id = '33333333-3333-4333-8333-333333333333';
    RAISE EXCEPTION 'un-revoking an API key was allowed';
EXCEPTION
    WHEN check_violation THEN NULL; -- refused, as it must be
END
$$;
