package io.pgmesh.monitor;

import io.pgmesh.pg.Ident;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What pgmesh keeps on a node that grows with use: its logs of conflicts and apply errors, and the
 * tombstones of deleted rows (all {@code pgmesh.deleted_*} tables together). Rows are counted
 * exactly in a small table and taken from the planner's estimate in a big one, so that a reading
 * stays cheap however large they grow.
 */
final class ControlTables {
    /** Tables of at most this many pages (8 MB) are counted; bigger ones are estimated. */
    static final int COUNTED_PAGES = 1000;

    private ControlTables() {
    }

    static List<MeshStatus.ControlTable> read(Connection conn) throws SQLException {
        Map<String, long[]> sizes = new LinkedHashMap<>();
        sizes.put("conflicts", new long[2]);
        sizes.put("apply_errors", new long[2]);
        sizes.put("tombstones", new long[2]);
        List<String> counted = new ArrayList<>();
        List<String> countedKind = new ArrayList<>();
        try (var st = conn.createStatement();
             ResultSet rs = st.executeQuery("""
                     SELECT c.relname, pg_relation_size(c.oid) / current_setting('block_size')::int,
                            greatest(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid)
                       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = 'pgmesh' AND c.relkind = 'r'
                        AND (c.relname IN ('conflicts', 'apply_errors') OR c.relname LIKE 'deleted\\_%')""")) {
            while (rs.next()) {
                String kind = rs.getString(1).startsWith("deleted_") ? "tombstones" : rs.getString(1);
                long[] s = sizes.get(kind);
                s[1] += rs.getLong(4);
                if (rs.getLong(2) <= COUNTED_PAGES) {
                    counted.add("pgmesh." + Ident.quote(rs.getString(1)));
                    countedKind.add(kind);
                } else {
                    s[0] += rs.getLong(3);
                }
            }
        }
        if (!counted.isEmpty()) {
            StringBuilder sql = new StringBuilder("SELECT ");
            for (int i = 0; i < counted.size(); i++) {
                sql.append(i == 0 ? "" : ", ").append("(SELECT count(*) FROM ").append(counted.get(i)).append(")");
            }
            try (var st = conn.createStatement(); ResultSet rs = st.executeQuery(sql.toString())) {
                rs.next();
                for (int i = 0; i < counted.size(); i++) {
                    sizes.get(countedKind.get(i))[0] += rs.getLong(i + 1);
                }
            }
        }
        List<MeshStatus.ControlTable> tables = new ArrayList<>();
        sizes.forEach((kind, s) -> tables.add(new MeshStatus.ControlTable(kind, s[0], s[1])));
        return tables;
    }
}
