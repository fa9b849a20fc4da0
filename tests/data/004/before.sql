-- Users who signed up before 004 tracked progress: 004 must start each at the welcome lesson.
INSERT INTO public.users (id, email, display_name) VALUES
    ('0a000000-0000-4000-8000-000000000001', 'early-1@example.com', 'Early One'),
    ('0a000000-0000-4000-8000-000000000002', 'early-2@example.com', NULL);
