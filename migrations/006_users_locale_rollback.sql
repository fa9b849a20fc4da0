-- Rollback of 006: restore users, export_history.format's default and the
-- users comment exactly as 002 and 005 left them.

COMMENT ON TABLE public.users IS 'Application accounts.';

ALTER TABLE public.export_history ALTER COLUMN format SET DEFAULT 'csv';

ALTER TABLE public.users DROP COLUMN locale;
