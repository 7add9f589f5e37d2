-- A Flyway callback: runs after every migration run, as the schema's owner, so tables that later migrations add are
-- granted too. The app role (kvstream.db.app-role, the role the pods connect as) may read and write rows and nothing
-- else: no CREATE on the schema, no ALTER or DROP (only an owner may), and it may read but not change Flyway's history
-- (a process that does not migrate reads it to know whether the schema is current).
DO $grants$
BEGIN
    IF '${appRole}' <> '' THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', '${flyway:defaultSchema}', '${appRole}');
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I',
                       '${flyway:defaultSchema}', '${appRole}');
        EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', '${flyway:defaultSchema}', '${appRole}');
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON TABLE %I.%I FROM %I', '${flyway:defaultSchema}',
                       '${flyway:table}', '${appRole}');
    END IF;
END
$grants$;
