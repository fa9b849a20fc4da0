-- Rollback of 003: the table first (its triggers depend on the function).

DROP TABLE public.user_api_keys;
DROP FUNCTION app.user_api_keys_guard();
