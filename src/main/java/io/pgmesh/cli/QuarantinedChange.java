package io.pgmesh.cli;

import io.pgmesh.apply.Quarantine;
import io.pgmesh.config.MeshConfig;
import io.pgmesh.pg.PgConnector;
import java.sql.Connection;
import java.sql.SQLException;
import picocli.CommandLine.Model.CommandSpec;

/** What retry and discard share: find the node of a NODE:ID, act on that change there, print the outcome. */
final class QuarantinedChange {

    /** One action on a quarantined change; returns the line to print. */
    interface Action {
        String apply(Connection conn, String node, long id) throws SQLException, Quarantine.QuarantineException;
    }

    private QuarantinedChange() {
    }

    static int run(ConfigOption config, String id, CommandSpec spec, String verb, Action action) throws SQLException {
        MeshConfig mesh = config.load();
        ApplyErrorId target = ApplyErrorId.parse(id, mesh);
        try (Connection conn = PgConnector.connect(target.node(), verb)) {
            spec.commandLine().getOut().println(action.apply(conn, target.node().name(), target.id()));
        } catch (Quarantine.QuarantineException e) {
            throw new ExitException(Main.FAILED, "pgmesh " + verb + ": " + e.getMessage());
        }
        spec.commandLine().getOut().flush();
        return Main.OK;
    }
}
