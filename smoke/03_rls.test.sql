-- pgTAP: row level security as the application's role, with the user id the app sets.
BEGIN;
SELECT plan(6);

SELECT row_security_active('public.users') IS NOT NULL AS setup;
INSERT INTO public.users (id, email) VALUES
    ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'alice@example.com'),
    ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'bob@example.com');
INSERT INTO public.export_history (user_id) VALUES
    ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'), ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'), ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb');

SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'public.export_history'::regclass), 'export_history has row level security');

SET LOCAL ROLE app_user;
SELECT set_config('app.user_id', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', true);
SELECT is((SELECT count(*) FROM public.users)::int, 1, 'alice sees only herself');
SELECT is((SELECT count(*) FROM public.export_history)::int, 2, 'alice sees her two exports');
SELECT throws_ok(
    $$ INSERT INTO public.export_history (user_id) VALUES ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb') $$,
    '42501', NULL, 'alice cannot request an export for bob');

SELECT set_config('app.user_id', '', true);
SELECT is((SELECT count(*) FROM public.users)::int, 0, 'no user id, no rows');
SELECT is((SELECT count(*) FROM public.export_history)::int, 0, 'no user id, no exports');

SELECT * FROM finish();
ROLLBACK;
