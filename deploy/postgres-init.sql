-- The role the services work as (row-level security binds it); `registry` owns the schema.
CREATE ROLE registry_app LOGIN NOBYPASSRLS PASSWORD 'registry_app';
