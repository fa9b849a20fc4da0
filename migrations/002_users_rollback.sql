-- Rollback of 002: dropping the table drops its index, trigger, policies,
-- comments and the grants it received through default privileges.

DROP TABLE public.users;
