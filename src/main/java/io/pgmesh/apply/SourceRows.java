package io.pgmesh.apply;

import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Optional;

/**
 * Reads a row of the task's source by key, for the values a change did not carry: an UPDATE
 * leaves out unchanged TOAST values ({@code 'u'}), and when such an update wins a conflict
 * against a local version that no longer holds them, only the source can say what they are. The
 * source's current row may be newer than the change being applied; a later change of those
 * columns is on its way in the same stream and is applied after, so the nodes still meet.
 *
 * <p>The connection is opened on first use: most tasks never need one.
 */
public final class SourceRows implements AutoCloseable {
    /** Opens a connection to the source. */
    @FunctionalInterface
    public interface Connector {
        Connection open() throws SQLException;
    }

    private final Connector connector;
    private final boolean everyUnchanged;
    private Connection conn;

    /**
     * @param everyUnchanged the mesh has three nodes or more: then every unchanged TOAST value a
     *                       change leaves out is read from the source, not only those of a change
     *                       that wins a conflict. The source may hold a value that a third node
     *                       wrote and this target has not seen yet, or has kept out as older than
     *                       its own (the whole row lost to a newer version, which then left the
     *                       value out as unchanged); a target whose row the same source wrote last
     *                       cannot tell. With two nodes every value the source holds came from one
     *                       of the two, and the target has it.
     */
    public SourceRows(Connector connector, boolean everyUnchanged) {
        this.connector = connector;
        this.everyUnchanged = everyUnchanged;
    }

    /** True when every value a change leaves out must be read from the source (see the constructor). */
    public boolean everyUnchanged() {
        return everyUnchanged;
    }

    /**
     * The row with these key values, every column in text form (null for NULL), in the order of
     * {@code columns}; empty when the source no longer has a row with that key.
     */
    public Optional<String[]> read(TableName table, List<String> columns, List<String> keyColumns,
                                   List<String> keyValues) throws SQLException {
        if (conn == null) {
            conn = connector.open();
        }
        StringBuilder sql = new StringBuilder("SELECT ");
        for (int i = 0; i < columns.size(); i++) {
            sql.append(i == 0 ? "" : ", ").append(Ident.quote(columns.get(i))).append("::text");
        }
        sql.append(" FROM ").append(table.quoted()).append(" WHERE ");
        for (int k = 0; k < keyColumns.size(); k++) {
            // An untyped literal takes the key column's own type, as in the applier's statements.
            sql.append(k == 0 ? "" : " AND ").append(Ident.quote(keyColumns.get(k))).append(" = ")
                    .append(Ident.literal(keyValues.get(k)));
        }
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql.toString())) {
            if (!rs.next()) {
                return Optional.empty();
            }
            String[] row = new String[columns.size()];
            for (int i = 0; i < row.length; i++) {
                row[i] = rs.getString(i + 1);
            }
            return Optional.of(row);
        } catch (SQLException e) {
            close();
            throw e;
        }
    }

    @Override
    public void close() {
        Sql.closeQuietly(conn);
        conn = null;
    }
}
