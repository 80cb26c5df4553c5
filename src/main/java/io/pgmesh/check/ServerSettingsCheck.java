package io.pgmesh.check;

import io.pgmesh.pg.ServerCapabilities;
import io.pgmesh.pg.Sql;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The server version and the settings that need a restart: wal_level and track_commit_timestamp. */
final class ServerSettingsCheck {

    static final String RESTART_MANAGED = "; on Amazon RDS set it in the DB parameter group (on Aurora: the DB"
            + " cluster parameter group), then reboot the instance";

    private ServerSettingsCheck() {
    }

    static List<Finding> check(CheckedNode n) throws SQLException {
        List<Finding> findings = new ArrayList<>();
        version(n.name(), n.caps(), Sql.queryString(n.conn(), "SHOW server_version").orElse("?"))
                .ifPresent(findings::add);
        String walLevel = Sql.queryString(n.conn(), "SHOW wal_level").orElse("");
        if (!walLevel.equals("logical")) {
            findings.add(Finding.error(n.name(), "wal_level", "wal_level is " + walLevel + ", not logical",
                    "pgmesh reads each node's changes through logical decoding, which needs wal_level = logical",
                    "set wal_level = logical (ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL;"
                            + " on Amazon RDS set rds.logical_replication = 1 in the DB parameter group (on Aurora: the DB"
                            + " cluster parameter group), then reboot the instance; on Cloud SQL set the flag cloudsql.logical_decoding = on"));
        }
        if (!Sql.queryString(n.conn(), "SHOW track_commit_timestamp").orElse("off").equals("on")) {
            findings.add(Finding.error(n.name(), "track_commit_timestamp", "track_commit_timestamp is off",
                    "conflict resolution compares the commit time of the local row with the remote change's,"
                            + " and PostgreSQL records commit times only with track_commit_timestamp = on",
                    "set track_commit_timestamp = on (ALTER SYSTEM SET track_commit_timestamp = on) and restart"
                            + " PostgreSQL" + RESTART_MANAGED));
        }
        if (n.caps().slotWalStatus()
                && Sql.queryString(n.conn(), "SHOW max_slot_wal_keep_size").orElse("").equals("-1")) {
            findings.add(Finding.warning(n.name(), "slot_wal_unbounded", "max_slot_wal_keep_size is -1 (unbounded)",
                    "a slot whose target is down keeps this node's WAL for as long as it is down, and can fill the"
                            + " disk and stop the server",
                    "bound it by what the disk can spare: ALTER SYSTEM SET max_slot_wal_keep_size = '50GB'; SELECT"
                            + " pg_reload_conf(); (no restart; on Amazon RDS and Aurora set it in the parameter"
                            + " group). A slot past the bound is invalidated instead, and pgmesh status names the"
                            + " pgmesh resync that rebuilds its target"));
        }
        return findings;
    }

    /** An error for a server too old for pgmesh; pure, so every version boundary can be tested. */
    static Optional<Finding> version(String node, ServerCapabilities caps, String serverVersion) {
        if (caps.commitTimestampOrigin()) {
            return Optional.empty();
        }
        return Optional.of(Finding.error(node, "server_version",
                "PostgreSQL " + serverVersion + " is too old: pgmesh needs 14 or later",
                "conflict detection asks which origin last wrote a row (pg_xact_commit_timestamp_origin),"
                        + " which PostgreSQL has only from 14 on",
                "upgrade the node to PostgreSQL 14 or later (17 recommended)"));
    }
}
