package io.pgmesh.validate;

import java.sql.SQLException;

/** A stream of one node's rows in {@link RowEntry#ORDER}; a database cursor in production, a list in tests. */
@FunctionalInterface
public interface RowCursor {
    /** The next row, or null at the end. */
    RowEntry next() throws SQLException;
}
