-- Rollback of 005: table, then the function and the type it uses.

DROP TABLE public.export_history;
DROP FUNCTION app.export_history_track_status();
DROP TYPE public.export_status;
