package io.pgmesh.check;

import io.pgmesh.pg.TableName;
import java.math.BigInteger;
import java.util.List;
import java.util.Map;

/**
 * A selected table as one node has it: what the table checks compare across nodes.
 *
 * @param name               schema and name
 * @param unlogged           UNLOGGED: its changes never reach the WAL
 * @param hasReplicaIdentity a primary key, a replica identity index, or REPLICA IDENTITY FULL
 * @param columnTypes        column name to its type as format_type prints it, in column order
 * @param keyColumns         the primary key's columns, in column order; empty without a primary key
 * @param keySequences       the sequences feeding primary key columns (serial or identity), by column
 * @param missingPrivileges  what the role lacks to replicate it, e.g. "INSERT" or "USAGE on schema app"
 * @param partitionOf        the partitioned table this one is a partition of, or null
 * @param indexes            its indexes' definitions without their names (names may differ), sorted
 */
record TableInfo(TableName name, boolean unlogged, boolean hasReplicaIdentity, Map<String, String> columnTypes,
                 List<String> keyColumns, Map<String, KeySequence> keySequences, List<String> missingPrivileges,
                 TableName partitionOf, List<String> indexes) {

    TableInfo(TableName name, boolean unlogged, boolean hasReplicaIdentity, Map<String, String> columnTypes,
              List<String> keyColumns, Map<String, KeySequence> keySequences, List<String> missingPrivileges,
              TableName partitionOf) {
        this(name, unlogged, hasReplicaIdentity, columnTypes, keyColumns, keySequences, missingPrivileges, partitionOf,
                List.of());
    }

    /** How {@link #missingPrivileges} names the owner's rights the role lacks: this prefix, then the owning role. */
    static final String OWNER_PREFIX = "the rights of its owner ";

    /** pgmesh publishes only logged tables with a replica identity. */
    boolean replicated() {
        return !unlogged && hasReplicaIdentity;
    }

    /**
     * A sequence that hands out a key column's values.
     *
     * @param sequence  its qualified, quoted name
     * @param identity  an identity column's sequence (changed through ALTER TABLE), not a serial's
     * @param increment its INCREMENT
     * @param next      the value it hands out next, or null when the role may not read it
     */
    record KeySequence(String sequence, boolean identity, long increment, BigInteger next) {
    }
}
