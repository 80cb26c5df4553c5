package io.pgmesh.bench;

import io.pgmesh.apply.SqlRenderer;
import io.pgmesh.embedded.EmbeddedPostgres;
import io.pgmesh.pg.Ident;
import io.pgmesh.pg.TableName;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * How much server CPU a TPC-B transaction costs when applied through SQL the way pgmesh applies
 * it, and what each part of that costs: the same 20,000 transactions (3 UPDATEs by key and an
 * INSERT, as pgoutput delivers pgbench's) go to one server as multi-statement queries of 70
 * transactions, like pgmesh's batches, in four forms that drop one part at a time. The server
 * backend's CPU time per transaction (from /proc) is the result: the floor below which SQL apply
 * cannot go on this machine, to set against the native apply worker's (docs/BENCHMARKS.md).
 * Run by hand: {@code BENCH_MAIN=io.pgmesh.bench.ApplyFloorBench bench/run.sh}.
 */
public final class ApplyFloorBench {
    private static final String DB = "floor";
    private static final int TXNS = Integer.parseInt(System.getenv().getOrDefault("BENCH_FLOOR_TXNS", "20000"));
    private static final int ROUNDS = Integer.parseInt(System.getenv().getOrDefault("BENCH_ROUNDS", "3"));
    private static final int PER_QUERY = 70;
    /** Rows written by pgbench carry no origin; the guard accepts them as pgmesh's own, at the same cost. */
    private static final String GUARD = "COALESCE((pg_xact_commit_timestamp_origin(xmin)).roident, 1) IN (0, 1)";

    private enum Form {
        SHIPPED("as pgmesh sends it: strict statements with the origin guard, progress + origin statement, BEGIN/COMMIT"),
        NO_STRICT("without the strict wrappers (CTE + sink) around the UPDATEs"),
        NO_GUARD("without the strict wrappers and the origin guard"),
        BARE("bare: BEGIN, 3 UPDATEs, 1 INSERT, COMMIT; no progress row, no origin");

        final String what;

        Form(String what) {
            this.what = what;
        }
    }

    public static void main(String[] args) throws Exception {
        String version = System.getenv().getOrDefault("BENCH_PG_VERSION", "17.5.0");
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path results = Path.of("bench", "out", "applyfloor-" + stamp + ".md").toAbsolutePath();
        Files.createDirectories(results.getParent());
        Map<Form, List<Double>> micros = new LinkedHashMap<>();
        try (EmbeddedPostgres pg = EmbeddedPostgres.start(version, null, Map.of("fsync", "on"))) {
            pg.createDatabase(DB);
            List<Form> order = new ArrayList<>(List.of(Form.values()));
            for (int round = 1; round <= ROUNDS; round++) {
                for (Form form : order) {
                    Pgbench.run(pg, DB, results.resolveSibling("applyfloor-" + stamp + "-pgbench.log"),
                            "-i", "-s", "10", "-I", "dtGvp", "-q");
                    Db.exec(pg, DB, "CHECKPOINT");
                    double us = run(pg, form);
                    micros.computeIfAbsent(form, f -> new ArrayList<>()).add(us);
                    System.out.printf("round %d: %-9s %6.1f µs of backend CPU per transaction%n", round, form, us);
                }
                order.add(order.remove(0));
            }
        }
        StringBuilder md = new StringBuilder("# Server CPU per TPC-B transaction applied through SQL, PostgreSQL " + version
                + "\n\n" + TXNS + " transactions per run, " + PER_QUERY + " per query, median of " + ROUNDS
                + " rounds (order rotated); every run: " + micros + "\n\n| form | backend CPU per transaction |\n|---|---:|\n");
        micros.forEach((f, v) -> md.append(String.format("| %s | %.0f µs |%n", f.what, median(v))));
        Files.writeString(results, md);
        System.out.println("\n" + md + "\nresults in " + results);
        System.exit(0);
    }

    /** Applies the transactions in {@code form} on a fresh session; returns its backend's CPU µs per transaction. */
    private static double run(EmbeddedPostgres pg, Form form) throws Exception {
        try (Connection c = Db.open(pg, DB); Statement st = c.createStatement()) {
            for (String s : List.of("SET session_replication_role = replica", "SET synchronous_commit = off",
                    "SET enable_seqscan = off", "SET plan_cache_mode = force_generic_plan", "SET jit = off",
                    "CREATE TEMP TABLE " + SqlRenderer.SINK + " ()",
                    "CREATE TABLE IF NOT EXISTS pgmesh_progress (source_node text PRIMARY KEY, last_commit_lsn pg_lsn,"
                            + " last_commit_time timestamptz, applied_at timestamptz)",
                    "INSERT INTO pgmesh_progress VALUES ('source', '0/0', now(), now()) ON CONFLICT DO NOTHING",
                    "SELECT pg_replication_origin_create('pgmesh_source') WHERE NOT EXISTS"
                            + " (SELECT FROM pg_replication_origin WHERE roname = 'pgmesh_source')",
                    "SELECT pg_replication_origin_session_setup('pgmesh_source')")) {
                st.execute(s);
            }
            String guard = form == Form.SHIPPED || form == Form.NO_STRICT ? GUARD : null;
            prepare(st, "ua", update("pgbench_accounts", List.of("bid", "abalance", "filler"), "aid", guard, form));
            prepare(st, "ut", update("pgbench_tellers", List.of("bid", "tbalance", "filler"), "tid", guard, form));
            prepare(st, "ub", update("pgbench_branches", List.of("bbalance", "filler"), "bid", guard, form));
            prepare(st, "ih", SqlRenderer.insert(new TableName("public", "pgbench_history"),
                    List.of("tid", "bid", "aid", "delta", "mtime", "filler"), List.of()));
            // The progress and origin part of pgmesh's commit statement (progress.TaskProgress), without its beacon.
            st.execute("PREPARE cm (pg_lsn, timestamptz) AS WITH progress AS (UPDATE pgmesh_progress"
                    + " SET last_commit_lsn = $1, last_commit_time = $2, applied_at = clock_timestamp()"
                    + " WHERE source_node = 'source' RETURNING 1) SELECT pg_replication_origin_xact_setup($1, $2)");
            long pid = Long.parseLong(Db.str(c, "SELECT pg_backend_pid()"));
            double before = Procs.cpuSeconds(pid);
            Random random = new Random(42);
            StringBuilder sql = new StringBuilder();
            long lsn = 0x10000000L;
            for (int t = 1; t <= TXNS; t++) {
                int aid = 1 + random.nextInt(1_000_000);
                int tid = 1 + random.nextInt(100);
                int bid = 1 + random.nextInt(10);
                int delta = random.nextInt(10_001) - 5000;
                lsn += 700;
                String ts = "2026-11-26 12:00:00+00";
                sql.append("BEGIN;\n")
                        .append(execute("ua", bid, delta, " ".repeat(84), aid))
                        .append(execute("ut", bid, delta, null, tid))
                        .append(execute("ub", delta, null, bid))
                        .append(execute("ih", tid, bid, aid, delta, ts, null));
                if (form != Form.BARE) {
                    sql.append(execute("cm", String.format("%X/%X", lsn >>> 32, lsn & 0xFFFFFFFFL), ts));
                }
                sql.append("COMMIT;\n");
                if (t % PER_QUERY == 0 || t == TXNS) {
                    st.execute(sql.toString());
                    sql.setLength(0);
                }
            }
            return (Procs.cpuSeconds(pid) - before) * 1e6 / TXNS;
        }
    }

    private static String update(String table, List<String> set, String key, String guard, Form form) {
        String dml = SqlRenderer.update(new TableName("public", table), set, List.of(key), guard);
        return form == Form.SHIPPED ? SqlRenderer.expectOneRow(dml) : dml;
    }

    private static void prepare(Statement st, String name, String body) throws Exception {
        st.execute("PREPARE " + name + " AS " + body);
    }

    private static String execute(String name, Object... values) {
        StringBuilder s = new StringBuilder("EXECUTE ").append(name).append('(');
        for (int i = 0; i < values.length; i++) {
            s.append(i == 0 ? "" : ", ").append(values[i] == null ? "NULL" : Ident.literal(String.valueOf(values[i])));
        }
        return s.append(");\n").toString();
    }

    private static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        s.sort(null);
        return s.get(s.size() / 2);
    }
}
