package io.pgmesh.check;

import io.pgmesh.ddl.DdlCapture;
import io.pgmesh.pg.Sql;
import java.sql.SQLException;
import java.util.List;

/**
 * With {@code ddl.replicate} on, a node must capture its schema changes: its event triggers are
 * there (init installs them; it needs a superuser for that). Before init nothing is expected; a
 * role that could not install them is told now rather than when a change fails to arrive.
 */
final class DdlCaptureCheck {
    private DdlCaptureCheck() {
    }

    static List<Finding> check(CheckedNode n) throws SQLException {
        if (!n.mesh().replicateDdl() || DdlCapture.installed(n.conn())) {
            return List.of();
        }
        boolean initialised = Sql.queryBool(n.conn(), "SELECT to_regclass('pgmesh.task_progress') IS NOT NULL");
        boolean superuser = Sql.queryBool(n.conn(), "SELECT rolsuper FROM pg_roles WHERE rolname = current_user");
        if (initialised || !superuser) {
            return List.of(Finding.warning(n.name(), "ddl_capture", "schema changes made on " + n.name() + " are not"
                            + " replicated: " + (initialised ? "its DDL event triggers are missing"
                            : "role " + n.node().user() + " is not a superuser, which creating event triggers takes"),
                    "with ddl.replicate on, a change made on one node reaches the others by an event trigger; without"
                            + " it the others miss the change, and rows that need it fail there",
                    "run pgmesh init once as a superuser (rds_superuser on RDS); or make schema changes with pgmesh"
                            + " ddl; or set ddl.replicate: false to say that is meant"));
        }
        return List.of();
    }
}
