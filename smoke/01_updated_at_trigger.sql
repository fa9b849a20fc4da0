-- Smoke test (plain SQL): passes when it runs without error. The updated_at trigger sets
-- updated_at, and progress at 100% is marked completed.
INSERT INTO public.users (id, email, display_name)
VALUES ('11111111-1111-4111-8111-111111111111', 'ada@example.com', 'Ada');

-- The trigger owns updated_at: whatever an UPDATE writes there, it becomes now().
UPDATE public.users SET display_name = 'Ada L.', updated_at = '2000-01-01'
WHERE id = '11111111-1111-4111-8111-111111111111';

DO $$
BEGIN
    ASSERT (SELECT updated_at = now() FROM public.users WHERE id = '11111111-1111-4111-8111-111111111111'),
        'the updated_at trigger did not set updated_at to now()';
END
$$;

INSERT INTO public.user_progress (user_id, lesson_id, percent)
VALUES ('11111111-1111-4111-8111-111111111111', 'intro', 100);

DO $$
BEGIN
    ASSERT (SELECT completed_at IS NOT NULL FROM public.user_progress WHERE lesson_id = 'intro'),
        'progress at 100% must be completed';
END
$$;
