-- The rollback takes progress away and leaves the users as they were.
DO $$
BEGIN
    IF to_regclass('public.user_progress') IS NOT NULL THEN
        RAISE EXCEPTION 'public.user_progress is still there';
    END IF;
    IF (SELECT count(*) FROM public.users) <> 2 THEN
        RAISE EXCEPTION 'expected the 2 users from before.sql, found %', (SELECT count(*) FROM public.users);
    END IF;
END
$$;
