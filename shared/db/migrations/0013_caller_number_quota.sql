-- The tenant parameter "maximum caller numbers" (NULL: unlimited), and, for a tenant with one,
-- how many numbers it has. Statement triggers keep `caller_numbers_used` in the transaction of
-- every insert and delete, whoever writes, but only while the tenant has a quota: its writers
-- then take turns on the tenant row (shared/db/quotas.py), while an unlimited tenant's writers
-- never wait for each other. Setting a quota counts the numbers afresh (shared/db/tenants.py),
-- after the writers in flight: each holds the tenant's count lock shared until it commits.

ALTER TABLE tenant
    ADD COLUMN max_caller_numbers integer CHECK (max_caller_numbers >= 0),
    ADD COLUMN caller_numbers_used bigint NOT NULL DEFAULT 0;

-- The tenant's count lock: shared by its writers, taken alone to count.
CREATE FUNCTION caller_number_count_lock(tenant text) RETURNS bigint LANGUAGE sql IMMUTABLE
AS $$ SELECT hashtextextended('caller_number_count:' || tenant, 0) $$;

CREATE FUNCTION count_caller_numbers_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(caller_number_count_lock(tenant_id))
    FROM (SELECT DISTINCT tenant_id FROM new_rows) t;
    UPDATE tenant t SET caller_numbers_used = t.caller_numbers_used + c.added
    FROM (SELECT tenant_id, count(*) AS added FROM new_rows GROUP BY tenant_id) c
    WHERE t.id = c.tenant_id AND t.max_caller_numbers IS NOT NULL;
    RETURN NULL;
END
$$;

CREATE FUNCTION count_caller_numbers_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(caller_number_count_lock(tenant_id))
    FROM (SELECT DISTINCT tenant_id FROM old_rows) t;
    UPDATE tenant t SET caller_numbers_used = t.caller_numbers_used - c.deleted
    FROM (SELECT tenant_id, count(*) AS deleted FROM old_rows GROUP BY tenant_id) c
    WHERE t.id = c.tenant_id AND t.max_caller_numbers IS NOT NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER caller_number_count_added AFTER INSERT ON caller_number
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_caller_numbers_added();
CREATE TRIGGER caller_number_count_deleted AFTER DELETE ON caller_number
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_caller_numbers_deleted();
