package io.pgmesh.setup;

import io.pgmesh.config.ConflictSettings;
import io.pgmesh.ddl.DdlCapture;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Collection;

/**
 * The lineage of the rows of first-update-wins tables ({@link io.pgmesh.causal.Lineage}): for each
 * such table with a key, a table {@code pgmesh.lineage_<oid>} and an {@code ENABLE ALWAYS} trigger
 * {@code pgmesh_lineage} that keeps it for the application's writes and sends it along with them.
 * Other tables have none, and lose theirs when their rule changes: the trigger costs every write
 * a look-up and a write more. The work is {@code pgmesh.keep_lineage} ({@code io/pgmesh/ddl/capture.sql}).
 */
public final class RowLineage {

    private RowLineage() {
    }

    public static void ensure(Connection conn, String localNode, Collection<TableName> tables, ConflictSettings rules)
            throws SQLException {
        DdlCapture.installFunctions(conn);
        for (TableName t : tables) {
            boolean wanted = rules.ruleFor(t.toString()) == ConflictSettings.Rule.FIRST_UPDATE_WINS;
            Sql.queryBool(conn, "SELECT pgmesh.keep_lineage(?::regclass, ?, ?)", t.quoted(), localNode, wanted);
        }
    }
}
