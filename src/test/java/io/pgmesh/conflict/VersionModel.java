package io.pgmesh.conflict;

import io.pgmesh.pg.TableName;
import java.time.Instant;
import java.util.List;

/** One key on one node as the applier treats it: a row, a tombstone, or nothing, changed by remote versions. */
final class VersionModel {
    private static final TableName T = new TableName("public", "t");

    /** A remote change: a write (insert or update) or a delete, committed at {@code time} on {@code node}. */
    record Version(boolean delete, Instant time, String node) {
        @Override
        public String toString() {
            return (delete ? "delete@" : "write@") + time.getNano() / 1000 + "/" + node;
        }
    }

    private VersionModel() {
    }

    /** What a node holds after receiving {@code versions} in this order, deciding every conflict with {@code r}. */
    static String applyAll(ConflictResolver r, List<Version> versions) {
        Version row = null;
        Version tombstone = null;
        for (Version v : versions) {
            ConflictType type;
            Version local;
            if (row != null) {
                type = v.delete() ? ConflictType.DELETE_DIFFERS : ConflictType.UPDATE_DIFFERS;
                local = row;
            } else {
                type = v.delete() ? ConflictType.DELETE_MISSING : ConflictType.UPDATE_MISSING;
                local = tombstone;
            }
            Resolution res = r.resolve(new Conflict(type, T, v.node(), v.time(),
                    local == null ? null : local.node(), local == null ? null : local.time()));
            if (res == Resolution.APPLY_REMOTE) {
                row = v.delete() ? null : v;
                tombstone = v.delete() ? v : tombstone;
            }
        }
        return row != null ? "row " + row : "deleted";
    }
}
