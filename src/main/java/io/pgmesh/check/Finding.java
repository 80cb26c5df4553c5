package io.pgmesh.check;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.util.Objects;

/**
 * One problem the preflight check found: what is wrong, why it matters to pgmesh, and how to fix
 * it. Never carries a password.
 *
 * @param severity ERROR when the mesh cannot work as it is, WARNING otherwise
 * @param node     the node it concerns, or null for a problem of the mesh as a whole (a table's
 *                 shape across nodes, for example)
 * @param code     a short stable name for the kind of problem, e.g. {@code wal_level}; scripts match on it
 * @param what     what is wrong, in one line
 * @param why      why it matters
 * @param fix      how to fix it, managed-service variant included where it differs
 */
public record Finding(Severity severity, String node, String code, String what, String why, String fix) {

    public Finding {
        Objects.requireNonNull(severity, "severity");
        Objects.requireNonNull(code, "code");
        Objects.requireNonNull(what, "what");
        Objects.requireNonNull(why, "why");
        Objects.requireNonNull(fix, "fix");
    }

    static Finding error(String node, String code, String what, String why, String fix) {
        return new Finding(Severity.ERROR, node, code, what, why, fix);
    }

    static Finding warning(String node, String code, String what, String why, String fix) {
        return new Finding(Severity.WARNING, node, code, what, why, fix);
    }

    @JsonIgnore // derived from severity; not a field of the JSON output
    public boolean isError() {
        return severity == Severity.ERROR;
    }
}
