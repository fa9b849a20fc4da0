-- Rollback of 004: view, then table, then the trigger function.

DROP VIEW public.user_progress_summary;
DROP TABLE public.user_progress;
DROP FUNCTION app.user_progress_sync_completion();
