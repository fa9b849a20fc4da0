BEGIN;
SELECT plan(3);
SELECT is((SELECT count(*) FROM public.user_progress)::int, 2, 'every existing user has a progress row');
SELECT set_eq(
    $$SELECT user_id FROM public.user_progress WHERE lesson_id = 'welcome'$$,
    $$SELECT id FROM public.users$$,
    'each is one existing user''s welcome lesson'
);
SELECT is(
    (SELECT count(*) FROM public.user_progress WHERE percent <> 0 OR completed_at IS NOT NULL)::int, 0,
    'the backfilled lessons are at 0% and not completed'
);
SELECT * FROM finish();
ROLLBACK;
