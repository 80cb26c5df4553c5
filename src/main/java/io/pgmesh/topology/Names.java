package io.pgmesh.topology;

/** The names pgmesh gives to the objects it creates; the vocabulary of docs/ARCHITECTURE.md, in one place. */
public final class Names {
    public static final String PUBLICATION = "pgmesh";
    public static final String CONTROL_SCHEMA = "pgmesh";
    public static final String PREFIX = "pgmesh_";
    /** The prefix of pgmesh's logical messages in a node's WAL: beacons and heartbeats. */
    public static final String MESSAGE_PREFIX = "pgmesh";

    private Names() {
    }

    public static String slot(String source, String target) {
        return PREFIX + source + "_" + target;
    }

    public static String origin(String source) {
        return PREFIX + source;
    }

    /**
     * The purpose (application name after "pgmesh ") of the session through which a run process
     * reports its tasks' states: while it is connected, the process is alive.
     */
    public static String reportPurpose(String process) {
        return "report " + process;
    }

    /** The node an origin name stands for, or the origin name itself when pgmesh did not create it. */
    public static String nodeOfOrigin(String originName) {
        return originName.startsWith(PREFIX) ? originName.substring(PREFIX.length()) : originName;
    }
}
