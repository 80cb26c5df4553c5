-- DDL capture of a node (io.pgmesh.ddl.DdlCapture installs it, and the two event triggers that
-- call on_ddl_command_end and on_sql_drop, which take a superuser). Both triggers are ENABLE
-- ALWAYS so that they fire in apply sessions (session_replication_role = replica) too: there
-- they only adopt new tables (publication, tombstones); they emit nothing, because pgmesh's
-- own sessions set pgmesh.ddl_capture = off.
--
-- A captured command travels as a transactional logical message in its own transaction, so it
-- reaches the other nodes at its place among the rows: what was written before it arrives before
-- it, what was written after it (the same transaction's later rows included) arrives after it.

CREATE TABLE IF NOT EXISTS pgmesh.ddl_capture (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    replicate boolean NOT NULL,
    -- LIKE patterns made from the mesh file's tables: globs, over schema.table and over schemas
    include_tables text[] NOT NULL,
    exclude_tables text[] NOT NULL,
    schemas text[] NOT NULL
);

-- Statements a DDL discarded with `pgmesh discard` must skip when its task meets them again.
CREATE TABLE IF NOT EXISTS pgmesh.ddl_discarded (
    source_node text NOT NULL,
    remote_commit_lsn pg_lsn NOT NULL,
    statement text NOT NULL,
    discarded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_node, remote_commit_lsn, statement)
);

-- How many statements a query string holds, and its first word. A string of several cannot be
-- replayed faithfully from current_query(): the other nodes would run every statement of it.
-- Knows what hides a semicolon: quotes, E'' escapes, quoted identifiers, comments (nested), and
-- dollar quoting.
CREATE OR REPLACE FUNCTION pgmesh.statements(q text, OUT statements int, OUT first_word text)
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    ch text[] := string_to_array(q, NULL);
    n int := coalesce(array_length(ch, 1), 0);
    i int := 1;
    j int;
    p int;
    depth int;
    delim text;
    esc boolean;
    content boolean := false;
BEGIN
    statements := 0;
    WHILE i <= n LOOP
        IF ch[i] = '-' AND i < n AND ch[i + 1] = '-' THEN
            WHILE i <= n AND ch[i] NOT IN (E'\n', E'\r') LOOP
                i := i + 1;
            END LOOP;
            CONTINUE;
        END IF;
        IF ch[i] = '/' AND i < n AND ch[i + 1] = '*' THEN
            depth := 1;
            i := i + 2;
            WHILE i <= n AND depth > 0 LOOP
                IF ch[i] = '/' AND i < n AND ch[i + 1] = '*' THEN
                    depth := depth + 1;
                    i := i + 2;
                ELSIF ch[i] = '*' AND i < n AND ch[i + 1] = '/' THEN
                    depth := depth - 1;
                    i := i + 2;
                ELSE
                    i := i + 1;
                END IF;
            END LOOP;
            CONTINUE;
        END IF;
        IF ch[i] = ';' THEN
            IF content THEN
                statements := statements + 1;
                content := false;
            END IF;
            i := i + 1;
            CONTINUE;
        END IF;
        IF ch[i] ~ '^\s$' THEN
            i := i + 1;
            CONTINUE;
        END IF;
        IF first_word IS NULL THEN
            j := i;
            WHILE j <= n AND ch[j] ~ '^[A-Za-z_]$' LOOP
                j := j + 1;
            END LOOP;
            first_word := upper(array_to_string(ch[i:j - 1], ''));
        END IF;
        content := true;
        IF ch[i] = '''' THEN
            esc := i > 1 AND ch[i - 1] IN ('E', 'e') AND (i = 2 OR ch[i - 2] !~ '^([A-Za-z0-9_$]|[^\x01-\x7f])$');
            i := i + 1;
            WHILE i <= n LOOP
                IF esc AND ch[i] = '\' THEN
                    i := i + 2;
                ELSIF ch[i] = '''' THEN
                    EXIT WHEN i = n OR ch[i + 1] <> '''';
                    i := i + 2;
                ELSE
                    i := i + 1;
                END IF;
            END LOOP;
            i := i + 1;
        ELSIF ch[i] = '"' THEN
            i := i + 1;
            WHILE i <= n AND ch[i] <> '"' LOOP
                i := i + 1;
            END LOOP;
            i := i + 1;
        ELSIF ch[i] = '$' AND (i = 1 OR ch[i - 1] !~ '^([A-Za-z0-9_$]|[^\x01-\x7f])$') THEN
            j := i + 1;
            WHILE j <= n AND ch[j] ~ '^([A-Za-z0-9_]|[^\x01-\x7f])$' AND NOT (j = i + 1 AND ch[j] ~ '^[0-9]$') LOOP
                j := j + 1;
            END LOOP;
            IF j <= n AND ch[j] = '$' THEN
                delim := array_to_string(ch[i:j], '');
                p := strpos(array_to_string(ch[j + 1:n], ''), delim);
                i := CASE WHEN p = 0 THEN n + 1 ELSE j + p + length(delim) END;
            ELSE
                i := i + 1;
            END IF;
        ELSE
            i := i + 1;
        END IF;
    END LOOP;
    IF content THEN
        statements := statements + 1;
    END IF;
END
$fn$;

-- Runs a captured change on a target as the role that made it. The apply session is usually a
-- superuser, and SET ROLE is no boundary: code the change runs (a column default, a CHECK over
-- existing rows) could switch back. Inside a SECURITY DEFINER function owned by that role,
-- PostgreSQL refuses any role change. The statement is counted again here: only one may run.
CREATE OR REPLACE FUNCTION pgmesh.replay_ddl(stmt text, role text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    n int := (SELECT statements FROM pgmesh.statements(stmt));
BEGIN
    IF n <> 1 THEN
        RAISE EXCEPTION 'pgmesh: refusing to replay a query string of % statements', n;
    END IF;
    EXECUTE 'CREATE OR REPLACE FUNCTION pg_temp.pgmesh_replay(s text) RETURNS void LANGUAGE plpgsql'
            ' SECURITY DEFINER AS $r$ BEGIN EXECUTE s; END $r$';
    EXECUTE format('ALTER FUNCTION pg_temp.pgmesh_replay(text) OWNER TO %I', role);
    PERFORM pg_temp.pgmesh_replay(stmt);
END
$fn$;

-- True when the mesh file's tables select this table.
CREATE OR REPLACE FUNCTION pgmesh.selected_table(schema_name text, table_name text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT EXISTS (SELECT 1 FROM pgmesh.ddl_capture s
                    WHERE (schema_name || '.' || table_name) LIKE ANY (s.include_tables)
                      AND NOT ((schema_name || '.' || table_name) LIKE ANY (s.exclude_tables)))
$fn$;

-- The columns of a table's replica identity key, in key order; NULL without one (none, or FULL).
CREATE OR REPLACE FUNCTION pgmesh.key_columns(rel oid) RETURNS text[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT array_agg(a.attname::text ORDER BY k.ord)
      FROM pg_class c
      JOIN pg_index i ON i.indrelid = c.oid
       AND CASE c.relreplident WHEN 'd' THEN i.indisprimary WHEN 'i' THEN i.indisreplident ELSE false END
     CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
     WHERE c.oid = rel
$fn$;

-- The tombstone table and triggers of a table with a key (see io.pgmesh.setup.Tombstones); true
-- when it created or repaired something. A table keyed by REPLICA IDENTITY FULL gets none.
CREATE OR REPLACE FUNCTION pgmesh.keep_tombstones(rel oid) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    key text[];
    tomb text := 'pgmesh.' || quote_ident('deleted_' || rel);
    cols text;
    olds text;
    changed text;
    first_col text;
    have_table boolean;
    adopting text := current_setting('pgmesh.adopting', true);
BEGIN
    key := pgmesh.key_columns(rel);
    IF key IS NULL THEN
        -- No key (any more): triggers that write a key's columns would fail every DELETE.
        PERFORM set_config('pgmesh.adopting', 'on', true);
        IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = rel AND tgname = 'pgmesh_deleted') THEN
            EXECUTE format('DROP TRIGGER pgmesh_deleted ON %s', rel::regclass);
        END IF;
        IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = rel AND tgname = 'pgmesh_rekeyed') THEN
            EXECUTE format('DROP TRIGGER pgmesh_rekeyed ON %s', rel::regclass);
        END IF;
        PERFORM set_config('pgmesh.adopting', coalesce(adopting, ''), true);
        RETURN false;
    END IF;
    have_table := to_regclass(tomb) IS NOT NULL;
    IF have_table AND key IS DISTINCT FROM (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
                                            WHERE a.attrelid = to_regclass(tomb) AND a.attnum > 0 AND NOT a.attisdropped) THEN
        -- The key changed: tombstones of the old key cannot stand for the new one.
        PERFORM set_config('pgmesh.adopting', 'on', true);
        EXECUTE format('DROP TABLE %s', tomb);
        have_table := false;
    ELSIF have_table AND (SELECT count(*) = 2 FROM pg_trigger WHERE tgrelid = rel
                        AND tgname IN ('pgmesh_deleted', 'pgmesh_rekeyed') AND tgenabled = 'A') THEN
        RETURN false;
    END IF;
    -- The statements below fire the event triggers again; they must not take them for the user's.
    PERFORM set_config('pgmesh.adopting', 'on', true);
    SELECT string_agg(quote_ident(k.c), ', ' ORDER BY k.o),
           string_agg('OLD.' || quote_ident(k.c), ', ' ORDER BY k.o),
           string_agg('OLD.' || quote_ident(k.c) || ' IS DISTINCT FROM NEW.' || quote_ident(k.c), ' OR ' ORDER BY k.o)
      INTO cols, olds, changed
      FROM unnest(key) WITH ORDINALITY AS k(c, o);
    first_col := quote_ident(key[1]);
    IF NOT have_table THEN
        EXECUTE format('CREATE TABLE %s AS SELECT %s FROM %s WITH NO DATA', tomb, cols, rel::regclass);
        EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (%s)', tomb, cols);
    END IF;
    -- ON CONFLICT ... DO UPDATE writes a new version of the tombstone: its xmin is then this delete.
    EXECUTE format($body$CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql
        SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $t$
        BEGIN
          INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO UPDATE SET %s = EXCLUDED.%s;
          RETURN NULL;
        END
        $t$$body$, tomb, tomb, cols, olds, cols, first_col, first_col);
    IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = rel AND tgname = 'pgmesh_deleted') THEN
        EXECUTE format('DROP TRIGGER pgmesh_deleted ON %s', rel::regclass);
    END IF;
    EXECUTE format('CREATE TRIGGER pgmesh_deleted AFTER DELETE ON %s FOR EACH ROW EXECUTE FUNCTION %s()',
                   rel::regclass, tomb);
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER pgmesh_deleted', rel::regclass);
    IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = rel AND tgname = 'pgmesh_rekeyed') THEN
        EXECUTE format('DROP TRIGGER pgmesh_rekeyed ON %s', rel::regclass);
    END IF;
    EXECUTE format('CREATE TRIGGER pgmesh_rekeyed AFTER UPDATE OF %s ON %s FOR EACH ROW WHEN (%s) EXECUTE FUNCTION %s()',
                   cols, rel::regclass, changed, tomb);
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER pgmesh_rekeyed', rel::regclass);
    PERFORM set_config('pgmesh.adopting', coalesce(adopting, ''), true);
    RETURN true;
END
$fn$;

-- The lineage of a row of a first-update-wins table: the versions it descends from, oldest
-- first, each as node@commit-microseconds, in pgmesh.lineage_<oid> keyed like the table. The
-- lineage row's own xmin is the version it belongs to (written in the same transaction). A leading
-- '?' says that what came before is unknown: nodes then fall back to the versions' own commit
-- times. It keeps the last 256 versions (see docs/CONFLICTS.md, "Limits").
CREATE OR REPLACE FUNCTION pgmesh.lineage_append(ancestors text, parent text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT CASE WHEN s.unknown OR cardinality(s.e) > 256 THEN '? ' ELSE '' END
           || array_to_string(s.e[greatest(1, cardinality(s.e) - 255):], ' ')
      FROM (SELECT array_remove(string_to_array(concat_ws(' ', nullif(ancestors, ''), parent), ' '), '?') AS e,
                   coalesce(ancestors, '') LIKE '?%' AS unknown) s
$fn$;

-- The lineage of a version that replaces the one whose lineage row this is (ancestors, and that
-- row's commit time and origin): one more ancestor. A lineage row of this very transaction is
-- the same version (several changes of one row in one transaction).
CREATE OR REPLACE FUNCTION pgmesh.lineage_next(ancestors text, ts timestamptz, roident oid, local_node text)
RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT CASE
        WHEN ts IS NULL THEN ancestors
        WHEN roident = 0 THEN pgmesh.lineage_append(ancestors, local_node || '@' || (extract(epoch FROM ts) * 1000000)::bigint)
        ELSE coalesce((SELECT pgmesh.lineage_append(ancestors, substr(o.roname, 8) || '@' || (extract(epoch FROM ts) * 1000000)::bigint)
                         FROM pg_replication_origin o WHERE o.roident = lineage_next.roident AND o.roname LIKE 'pgmesh\_%'),
                      '?')  -- a version of an origin pgmesh did not make
    END
$fn$;

-- Keeps (wanted) or drops the lineage of a table. A local write's trigger extends the lineage of
-- the version it replaces and sends it, as a transactional logical message just before the row
-- change, to the other nodes: "schema.table", then the new version's lineage, then for a key
-- change the old key's (its delete), one per line. An apply session (pgmesh.lineage = apply)
-- writes the lineage that came with the change itself; any other replica session (a load, a
-- retry) marks the lineage unknown.
CREATE OR REPLACE FUNCTION pgmesh.keep_lineage(rel oid, local_node text, wanted boolean) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    key text[];
    lin text := 'pgmesh.' || quote_ident('lineage_' || rel);
    cols text;
    news text;
    olds text;
    match_new text;
    match_old text;
    row_new text;
    key_changed text;
    adopting text := current_setting('pgmesh.adopting', true);
BEGIN
    key := pgmesh.key_columns(rel);
    PERFORM set_config('pgmesh.adopting', 'on', true);
    IF key IS NULL OR NOT wanted THEN
        IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = rel AND tgname = 'pgmesh_lineage') THEN
            EXECUTE format('DROP TRIGGER pgmesh_lineage ON %s', rel::regclass);
        END IF;
        EXECUTE format('DROP TABLE IF EXISTS %s', lin);
        EXECUTE format('DROP FUNCTION IF EXISTS %s()', lin);
        PERFORM set_config('pgmesh.adopting', coalesce(adopting, ''), true);
        RETURN false;
    END IF;
    IF to_regclass(lin) IS NOT NULL AND key || 'ancestors'::text IS DISTINCT FROM (SELECT array_agg(a.attname::text ORDER BY a.attnum)
            FROM pg_attribute a WHERE a.attrelid = to_regclass(lin) AND a.attnum > 0 AND NOT a.attisdropped) THEN
        EXECUTE format('DROP TABLE %s', lin);
    END IF;
    SELECT string_agg(quote_ident(k.c), ', ' ORDER BY k.o),
           string_agg('NEW.' || quote_ident(k.c), ', ' ORDER BY k.o),
           string_agg('OLD.' || quote_ident(k.c), ', ' ORDER BY k.o),
           string_agg('l.' || quote_ident(k.c) || ' = NEW.' || quote_ident(k.c), ' AND ' ORDER BY k.o),
           string_agg('l.' || quote_ident(k.c) || ' = OLD.' || quote_ident(k.c), ' AND ' ORDER BY k.o),
           string_agg('r.' || quote_ident(k.c) || ' = ($1).' || quote_ident(k.c), ' AND ' ORDER BY k.o),
           string_agg('OLD.' || quote_ident(k.c) || ' IS DISTINCT FROM NEW.' || quote_ident(k.c), ' OR ' ORDER BY k.o)
      INTO cols, news, olds, match_new, match_old, row_new, key_changed
      FROM unnest(key) WITH ORDINALITY AS k(c, o);
    IF to_regclass(lin) IS NULL THEN
        EXECUTE format('CREATE TABLE %s AS SELECT %s FROM %s WITH NO DATA', lin, cols, rel::regclass);
        EXECUTE format('ALTER TABLE %s ADD COLUMN ancestors text NOT NULL, ADD PRIMARY KEY (%s)', lin, cols);
    END IF;
    -- Where a schema change rebuilds the trigger (adopt_table) this node's name is read back.
    EXECUTE format('COMMENT ON TABLE %s IS %L', lin, local_node);
    EXECUTE format($body$CREATE OR REPLACE FUNCTION %1$s() RETURNS trigger LANGUAGE plpgsql
        SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $t$
        DECLARE
            anc_old text;
            anc_new text;
            taken boolean;
        BEGIN
            IF current_setting('session_replication_role') = 'replica' THEN
                IF current_setting('pgmesh.lineage', true) IS DISTINCT FROM 'apply' THEN
                    IF TG_OP <> 'INSERT' THEN
                        INSERT INTO %1$s AS l (%2$s, ancestors) VALUES (%4$s, '?')
                            ON CONFLICT (%2$s) DO UPDATE SET ancestors = '?';
                    END IF;
                    IF TG_OP <> 'DELETE' THEN
                        INSERT INTO %1$s AS l (%2$s, ancestors) VALUES (%3$s, '?')
                            ON CONFLICT (%2$s) DO UPDATE SET ancestors = '?';
                    END IF;
                END IF;
                RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
            END IF;
            IF TG_OP = 'INSERT' THEN
                -- A delete of this key in flight holds its lineage row until it commits: wait for it,
                -- then look. A key that is taken makes ON CONFLICT DO NOTHING write nothing, and DO
                -- UPDATE fire the UPDATE trigger.
                PERFORM FROM %1$s l WHERE %5$s FOR UPDATE;
                -- By the trigger's own table name, which a rename changes.
                EXECUTE format('SELECT EXISTS (SELECT FROM %%I.%%I r WHERE %7$s)', TG_TABLE_SCHEMA, TG_TABLE_NAME)
                    INTO taken USING NEW;
                IF taken THEN
                    RETURN NEW;
                END IF;
            END IF;
            IF TG_OP <> 'INSERT' THEN
                SELECT pgmesh.lineage_next(l.ancestors, c.timestamp, c.roident, %10$L) INTO anc_old
                  FROM %1$s l, pg_xact_commit_timestamp_origin(l.xmin) c WHERE %6$s;
                anc_old := coalesce(anc_old, '');
            END IF;
            IF TG_OP = 'UPDATE' AND NOT (%8$s) THEN
                anc_new := anc_old;
                anc_old := NULL;
            ELSIF TG_OP <> 'DELETE' THEN
                -- a new key: the version it replaces is the key's delete, if any
                SELECT pgmesh.lineage_next(l.ancestors, c.timestamp, c.roident, %10$L) INTO anc_new
                  FROM %1$s l, pg_xact_commit_timestamp_origin(l.xmin) c WHERE %5$s;
                anc_new := coalesce(anc_new, '');
            END IF;
            IF anc_old IS NOT NULL THEN
                INSERT INTO %1$s AS l (%2$s, ancestors) VALUES (%4$s, anc_old)
                    ON CONFLICT (%2$s) DO UPDATE SET ancestors = EXCLUDED.ancestors;
            END IF;
            IF anc_new IS NOT NULL THEN
                INSERT INTO %1$s AS l (%2$s, ancestors) VALUES (%3$s, anc_new)
                    ON CONFLICT (%2$s) DO UPDATE SET ancestors = EXCLUDED.ancestors;
            END IF;
            PERFORM pg_logical_emit_message(true, 'pgmesh.lineage', concat_ws(E'\n', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
                coalesce(anc_new, anc_old), CASE WHEN anc_new IS NOT NULL THEN anc_old END));
            RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
        END
        $t$$body$, lin, cols, news, olds, match_new, match_old, replace(row_new, '%', '%%'), key_changed, rel::regclass, local_node);
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = rel AND tgname = 'pgmesh_lineage' AND tgenabled = 'A') THEN
        IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = rel AND tgname = 'pgmesh_lineage') THEN
            EXECUTE format('DROP TRIGGER pgmesh_lineage ON %s', rel::regclass);
        END IF;
        EXECUTE format('CREATE TRIGGER pgmesh_lineage BEFORE INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION %s()',
                       rel::regclass, lin);
        EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER pgmesh_lineage', rel::regclass);
    END IF;
    PERFORM set_config('pgmesh.adopting', coalesce(adopting, ''), true);
    RETURN true;
END
$fn$;

-- A table the mesh selects joins the publication and gets its tombstones as soon as it has a
-- replica identity; without one it stays out, with a warning, as at init.
CREATE OR REPLACE FUNCTION pgmesh.adopt_table(rel oid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    t record;
    identity boolean;
    published boolean;
    adopting text := current_setting('pgmesh.adopting', true);
BEGIN
    SELECT c.oid, c.relkind, c.relpersistence, c.relreplident, n.nspname, c.relname INTO t
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
    IF NOT FOUND OR t.relkind <> 'r' OR t.relpersistence <> 'p' OR NOT pgmesh.selected_table(t.nspname, t.relname)
       OR NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'pgmesh') THEN
        RETURN;
    END IF;
    identity := t.relreplident = 'f' OR EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = rel
        AND CASE t.relreplident WHEN 'd' THEN i.indisprimary WHEN 'i' THEN i.indisreplident ELSE false END);
    published := EXISTS (SELECT 1 FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
                          WHERE p.pubname = 'pgmesh' AND pr.prrelid = rel);
    PERFORM set_config('pgmesh.adopting', 'on', true);
    IF identity THEN
        IF NOT published THEN
            EXECUTE format('ALTER PUBLICATION pgmesh ADD TABLE %s', rel::regclass);
        END IF;
        PERFORM pgmesh.keep_tombstones(rel);
        IF to_regclass('pgmesh.' || quote_ident('lineage_' || rel)) IS NOT NULL THEN
            -- rebuilt for the table as it is now (names, key); keyed by FULL it has none
            PERFORM pgmesh.keep_lineage(rel, obj_description(to_regclass('pgmesh.' || quote_ident('lineage_' || rel)),
                                                             'pg_class'), true);
        END IF;
    ELSE
        IF published THEN
            EXECUTE format('ALTER PUBLICATION pgmesh DROP TABLE %s', rel::regclass);
        END IF;
        PERFORM pgmesh.keep_tombstones(rel);  -- drops triggers keyed on what is no longer a key
        PERFORM pgmesh.keep_lineage(rel, '', false);
        RAISE WARNING 'pgmesh: table % is not replicated: it has no primary key or replica identity', rel::regclass
            USING HINT = format('add a primary key, or ALTER TABLE %s REPLICA IDENTITY FULL', rel::regclass);
    END IF;
    PERFORM set_config('pgmesh.adopting', coalesce(adopting, ''), true);
END
$fn$;

-- Why a command is not replayed on the other nodes, or NULL when it is.
CREATE OR REPLACE FUNCTION pgmesh.not_replicated(tag text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT CASE
        WHEN tag IN ('GRANT', 'REVOKE', 'ALTER DEFAULT PRIVILEGES')
            THEN 'privileges name roles, which are per server: grant them on each node'
        WHEN tag LIKE '% EXTENSION' THEN 'extensions are installed per server: install it on each node'
        WHEN tag LIKE '% PUBLICATION' OR tag LIKE '% SUBSCRIPTION' OR tag LIKE '% EVENT TRIGGER'
            THEN 'replication and event triggers are per node'
        WHEN tag = 'SECURITY LABEL' THEN 'labels depend on each server''s label provider'
        WHEN tag = 'REINDEX' THEN 'index maintenance is per server: reindex each node that needs it'
    END
$fn$;

-- Sends the command being run to the other nodes, or refuses it when it cannot be replayed as it is.
CREATE OR REPLACE FUNCTION pgmesh.emit_ddl(tag text, object text, path text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    q text := current_query();
    parsed record;
    skip text;
    role text := CASE current_setting('role') WHEN 'none' THEN session_user::text ELSE current_setting('role') END;
BEGIN
    IF current_setting('pgmesh.ddl_capture', true) = 'off' THEN
        RETURN;  -- a pgmesh session, or a person making a change on this node only
    END IF;
    IF tag IN ('CREATE TABLE AS', 'SELECT INTO') THEN
        RAISE EXCEPTION 'pgmesh: % cannot be replicated: its rows would be computed again on every node', tag
            USING HINT = 'create the table, then INSERT INTO ... SELECT (the rows then replicate as rows);'
                         ' or SET pgmesh.ddl_capture = off and run it on each node yourself';
    END IF;
    skip := pgmesh.not_replicated(tag);
    SELECT * INTO parsed FROM pgmesh.statements(q);
    IF skip IS NULL AND parsed.statements > 1 THEN
        RAISE EXCEPTION 'pgmesh: % cannot be replicated: the query string holds % statements, and the other nodes'
            ' would run all of them', tag, parsed.statements
            USING HINT = 'send each DDL statement as a query of its own (psql -f does, psql -c does not), or run it'
                         ' with pgmesh ddl';
    END IF;
    IF skip IS NULL AND parsed.first_word IS DISTINCT FROM split_part(tag, ' ', 1) THEN
        RAISE EXCEPTION 'pgmesh: % inside a function or DO block cannot be replicated: the other nodes would run'
            ' the whole of "%"', tag, left(regexp_replace(q, '\s+', ' ', 'g'), 80)
            USING HINT = 'run the DDL as a statement of its own, or with pgmesh ddl; or SET pgmesh.ddl_capture = off'
                         ' and run it on each node yourself';
    END IF;
    -- A skipped command travels without its text: CREATE SUBSCRIPTION ... CONNECTION may hold a password.
    PERFORM pg_logical_emit_message(true, 'pgmesh_ddl', json_build_object(
        'tag', tag, 'object', object, 'statement', CASE WHEN skip IS NULL THEN q END, 'search_path', path,
        'role', role, 'skip', skip,
        'standard_conforming_strings', current_setting('standard_conforming_strings'))::text);
END
$fn$;

-- Whether an object of this schema is replicated: some table pattern can select tables in it.
CREATE OR REPLACE FUNCTION pgmesh.replicated_schema(schema_name text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT schema_name IS NOT NULL AND schema_name NOT IN ('pgmesh', 'information_schema')
       AND schema_name NOT LIKE 'pg\_%'
       AND EXISTS (SELECT 1 FROM pgmesh.ddl_capture s WHERE schema_name LIKE ANY (s.schemas))
$fn$;

-- A column added by this transaction with a default that is computed (now(), random(), a
-- sequence) gets, in the rows already there, whatever each node computes when it replays the
-- change: the nodes would differ. Said to whoever makes the change, with the way that does not.
CREATE OR REPLACE FUNCTION pgmesh.warn_computed_defaults(rel oid) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    col text;
    has_rows boolean;
BEGIN
    IF current_setting('pgmesh.ddl_capture', true) = 'off' OR current_query() !~* '\mADD\M' THEN
        RETURN;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', rel::regclass) INTO has_rows;
    IF NOT has_rows THEN
        RETURN;
    END IF;
    FOR col IN SELECT a.attname FROM pg_attribute a JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped AND a.xmin = pg_current_xact_id()::xid
                  AND d.adbin::text ~ '\{(FUNCEXPR|SQLVALUEFUNCTION|NEXTVALUEEXPR)'
                  -- a rewrite touches every column's row: only those the statement names were added by it
                  AND position(lower(a.attname) IN lower(current_query())) > 0 LOOP
        RAISE WARNING 'pgmesh: column % of % was added with a computed default: the rows already there get each'
            ' node''s own value of it when the other nodes replay the change', col, rel::regclass
            USING HINT = 'to keep the nodes equal, add the column without a default (or with a constant), fill it'
                         ' with UPDATE (those rows replicate), then ALTER COLUMN ... SET DEFAULT';
    END LOOP;
END
$fn$;

-- The settings a capture goes by; none while pgmesh's own statements run (adopting a table).
CREATE OR REPLACE FUNCTION pgmesh.capture_rules() RETURNS SETOF pgmesh.ddl_capture
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT * FROM pgmesh.ddl_capture WHERE current_setting('pgmesh.adopting', true) IS DISTINCT FROM 'on'
$fn$;

-- The commands of a statement just run (ddl_command_end): tables it touched are adopted, and the
-- statement is sent when it changed an object of a replicated schema.
CREATE OR REPLACE FUNCTION pgmesh.captured_commands(tag text, path text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    s record;
    cmd record;
    rel oid;
    touched oid[] := '{}';
    replicated text;
BEGIN
    SELECT * INTO s FROM pgmesh.capture_rules();
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF pgmesh.not_replicated(tag) IS NOT NULL THEN
        -- Sent all the same, marked: each target names it in its log, so nobody wonders where it went.
        IF s.replicate THEN
            PERFORM pgmesh.emit_ddl(tag, NULL, path);
        END IF;
        RETURN;
    END IF;
    FOR cmd IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        CONTINUE WHEN cmd.in_extension OR NOT pgmesh.replicated_schema(
            CASE WHEN cmd.object_type = 'schema' THEN cmd.object_identity ELSE cmd.schema_name END);
        rel := CASE cmd.classid
            WHEN 'pg_class'::regclass THEN
                (SELECT CASE WHEN c.relkind IN ('i', 'I') THEN (SELECT x.indrelid FROM pg_index x WHERE x.indexrelid = c.oid)
                        ELSE c.oid END FROM pg_class c WHERE c.oid = cmd.objid)
            WHEN 'pg_trigger'::regclass THEN (SELECT tgrelid FROM pg_trigger WHERE oid = cmd.objid)
            WHEN 'pg_constraint'::regclass THEN (SELECT nullif(conrelid, 0) FROM pg_constraint WHERE oid = cmd.objid)
            WHEN 'pg_rewrite'::regclass THEN (SELECT ev_class FROM pg_rewrite WHERE oid = cmd.objid)
            WHEN 'pg_policy'::regclass THEN (SELECT polrelid FROM pg_policy WHERE oid = cmd.objid)
        END;
        -- A table the mesh file leaves out may differ from node to node: what changes it stays local.
        CONTINUE WHEN rel IS NOT NULL AND EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.oid = rel AND c.relkind IN ('r', 'p') AND NOT pgmesh.selected_table(n.nspname, c.relname));
        replicated := coalesce(replicated, cmd.object_identity);
        IF rel IS NOT NULL AND NOT rel = ANY (touched) THEN
            touched := touched || rel;
            PERFORM pgmesh.adopt_table(rel);
            IF tag = 'ALTER TABLE' AND s.replicate THEN
                PERFORM pgmesh.warn_computed_defaults(rel);
            END IF;
        END IF;
    END LOOP;
    IF replicated IS NOT NULL AND s.replicate THEN
        PERFORM pgmesh.emit_ddl(tag, replicated, path);
    END IF;
END
$fn$;

-- The objects a DROP just removed (sql_drop): a dropped table's tombstones go with it, and the
-- statement is sent when it dropped an object of a replicated schema. ALTER TABLE ... DROP COLUMN
-- drops too; ddl_command_end sends those.
CREATE OR REPLACE FUNCTION pgmesh.captured_drops(tag text, path text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    s record;
    obj record;
    replicated text;
BEGIN
    SELECT * INTO s FROM pgmesh.capture_rules();
    IF NOT FOUND THEN
        RETURN;
    END IF;
    FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
        IF obj.object_type = 'table' AND to_regclass('pgmesh.' || quote_ident('deleted_' || obj.objid)) IS NOT NULL THEN
            PERFORM set_config('pgmesh.adopting', 'on', true);
            EXECUTE format('DROP TABLE pgmesh.%I', 'deleted_' || obj.objid);
            EXECUTE format('DROP FUNCTION IF EXISTS pgmesh.%I()', 'deleted_' || obj.objid);
            PERFORM set_config('pgmesh.adopting', '', true);
        END IF;
        IF obj.object_type = 'table' AND to_regclass('pgmesh.' || quote_ident('lineage_' || obj.objid)) IS NOT NULL THEN
            PERFORM set_config('pgmesh.adopting', 'on', true);
            EXECUTE format('DROP TABLE pgmesh.%I', 'lineage_' || obj.objid);
            EXECUTE format('DROP FUNCTION IF EXISTS pgmesh.%I()', 'lineage_' || obj.objid);
            PERFORM set_config('pgmesh.adopting', '', true);
        END IF;
        CONTINUE WHEN NOT obj.original OR obj.is_temporary OR NOT pgmesh.replicated_schema(
            CASE WHEN obj.object_type = 'schema' THEN obj.object_name ELSE obj.schema_name END);
        CONTINUE WHEN obj.object_type = 'table' AND NOT pgmesh.selected_table(obj.schema_name, obj.object_name);
        replicated := coalesce(replicated, obj.object_identity);
    END LOOP;
    IF replicated IS NOT NULL AND s.replicate AND tag LIKE 'DROP %' THEN
        PERFORM pgmesh.emit_ddl(tag, replicated, path);
    END IF;
END
$fn$;

-- The event triggers' functions pass the caller's search_path on: a replay must use it.
CREATE OR REPLACE FUNCTION pgmesh.on_ddl_command_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER AS $fn$
BEGIN
    PERFORM pgmesh.captured_commands(tg_tag, pg_catalog.current_setting('search_path'));
END
$fn$;

CREATE OR REPLACE FUNCTION pgmesh.on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER AS $fn$
BEGIN
    PERFORM pgmesh.captured_drops(tg_tag, pg_catalog.current_setting('search_path'));
END
$fn$;
