package io.pgmesh.wal;

import io.pgmesh.pg.Lsn;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One decoded pgoutput (protocol version 1) message; one record per message type. Produced by
 * {@link PgOutputDecoder}; field names follow the protocol documentation. The wire layout of each
 * type is tabled in {@link ByteReader}.
 *
 * <p>Relation and type ids are PostgreSQL OIDs: unsigned 32-bit values kept in an {@code int}
 * (use {@link Integer#toUnsignedLong} to print one above 2<sup>31</sup>). A namespace of
 * {@code ""} means {@code pg_catalog}.
 */
public sealed interface WalMessage {

    /** Start of a transaction ({@code 'B'}). Its changes follow, then a {@link Commit}. */
    record Begin(Lsn finalLsn, Instant commitTime, long xid) implements WalMessage {
        /**
         * @param finalLsn LSN of the transaction's commit record
         * @param commitTime commit timestamp, microsecond precision
         * @param xid transaction id, unsigned 32-bit
         */
        public Begin {
            Objects.requireNonNull(finalLsn, "finalLsn");
            Objects.requireNonNull(commitTime, "commitTime");
        }
    }

    /** End of a transaction ({@code 'C'}). */
    record Commit(int flags, Lsn commitLsn, Lsn endLsn, Instant commitTime) implements WalMessage {
        /**
         * @param flags unused by PostgreSQL so far, 0
         * @param commitLsn LSN of the commit record
         * @param endLsn LSN just past the commit record: the position to confirm as flushed once
         *     this transaction is durably applied
         * @param commitTime commit timestamp, microsecond precision
         */
        public Commit {
            Objects.requireNonNull(commitLsn, "commitLsn");
            Objects.requireNonNull(endLsn, "endLsn");
            Objects.requireNonNull(commitTime, "commitTime");
        }
    }

    /**
     * The transaction was replicated into this server from another one ({@code 'O'}); sent after
     * {@link Begin} when the change carries a replication origin. Loop prevention keys on it.
     */
    record Origin(Lsn commitLsn, String name) implements WalMessage {
        /**
         * @param commitLsn LSN of the commit on the origin server
         * @param name replication origin name
         */
        public Origin {
            Objects.requireNonNull(commitLsn, "commitLsn");
            Objects.requireNonNull(name, "name");
        }
    }

    /**
     * Describes a table ({@code 'R'}), sent before its first change in a session and again after
     * its definition changes. Columns are listed in the order tuples use.
     */
    record Relation(int relationId, String namespace, String name, char replicaIdentity,
                    List<Column> columns) implements WalMessage {

        /** {@code REPLICA IDENTITY DEFAULT}: the primary key. */
        public static final char REPLICA_IDENTITY_DEFAULT = 'd';
        /** {@code REPLICA IDENTITY NOTHING}. */
        public static final char REPLICA_IDENTITY_NOTHING = 'n';
        /** {@code REPLICA IDENTITY FULL}: the whole old row. */
        public static final char REPLICA_IDENTITY_FULL = 'f';
        /** {@code REPLICA IDENTITY USING INDEX}. */
        public static final char REPLICA_IDENTITY_INDEX = 'i';

        /** {@code columns} is copied into an unmodifiable list. */
        public Relation {
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(name, "name");
            columns = List.copyOf(columns);
        }

        /**
         * One column of a {@link Relation}.
         *
         * @param flags bit 1 set when the column is part of the replica identity key
         * @param name column name
         * @param typeOid type OID
         * @param typeModifier {@code atttypmod}, -1 if none
         */
        public record Column(int flags, String name, int typeOid, int typeModifier) {
            /** Flag bit: the column is part of the replica identity key. */
            public static final int FLAG_KEY = 1;

            public Column {
                Objects.requireNonNull(name, "name");
            }

            /** True when the column is part of the replica identity key. */
            public boolean isKey() {
                return (flags & FLAG_KEY) != 0;
            }
        }
    }

    /** Names a non-built-in data type ({@code 'Y'}) before a {@link Relation} that uses it. */
    record TypeInfo(int typeOid, String namespace, String name) implements WalMessage {
        public TypeInfo {
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(name, "name");
        }
    }

    /** A row inserted ({@code 'I'}). */
    record Insert(int relationId, TupleData newTuple) implements WalMessage {
        public Insert {
            Objects.requireNonNull(newTuple, "newTuple");
        }
    }

    /**
     * A row updated ({@code 'U'}).
     *
     * @param relationId table OID
     * @param oldKind {@link #OLD_KEY} when {@code oldTuple} holds the old key columns only (the
     *     key changed), {@link #OLD_ROW} when it holds the whole old row (REPLICA IDENTITY FULL),
     *     {@link #OLD_NONE} when there is no old tuple and {@code oldTuple} is null
     * @param oldTuple old values, or null
     * @param newTuple new values; unchanged TOASTed columns are {@link TupleData.Kind#UNCHANGED_TOAST}
     */
    record Update(int relationId, char oldKind, TupleData oldTuple, TupleData newTuple) implements WalMessage {
        /** {@code oldKind}: the old tuple holds the key columns only. */
        public static final char OLD_KEY = 'K';
        /** {@code oldKind}: the old tuple is the whole old row. */
        public static final char OLD_ROW = 'O';
        /** {@code oldKind}: no old tuple was sent. */
        public static final char OLD_NONE = '\0';

        public Update {
            Objects.requireNonNull(newTuple, "newTuple");
            boolean consistent = oldKind == OLD_NONE
                    ? oldTuple == null
                    : (oldKind == OLD_KEY || oldKind == OLD_ROW) && oldTuple != null;
            if (!consistent) {
                throw new IllegalArgumentException("oldKind " + ProtocolException.typeName(oldKind)
                        + " does not match oldTuple " + (oldTuple == null ? "null" : "present"));
            }
        }

        /** True when an old tuple was sent. */
        public boolean hasOldTuple() {
            return oldTuple != null;
        }
    }

    /**
     * A row deleted ({@code 'D'}).
     *
     * @param relationId table OID
     * @param oldKind {@link Update#OLD_KEY} (key columns only) or {@link Update#OLD_ROW} (whole row)
     * @param oldTuple the old values
     */
    record Delete(int relationId, char oldKind, TupleData oldTuple) implements WalMessage {
        public Delete {
            Objects.requireNonNull(oldTuple, "oldTuple");
            if (oldKind != Update.OLD_KEY && oldKind != Update.OLD_ROW) {
                throw new IllegalArgumentException("oldKind must be 'K' or 'O', got "
                        + ProtocolException.typeName(oldKind));
            }
        }
    }

    /** One or more tables truncated in one statement ({@code 'T'}). */
    record Truncate(int options, int[] relationIds) implements WalMessage {
        /** Option bit: {@code TRUNCATE ... CASCADE}. */
        public static final int CASCADE = 1;
        /** Option bit: {@code TRUNCATE ... RESTART IDENTITY}. */
        public static final int RESTART_IDENTITY = 2;

        /** {@code relationIds} is copied. */
        public Truncate {
            relationIds = relationIds.clone();
        }

        /** A copy of the truncated tables' OIDs. */
        @Override
        public int[] relationIds() {
            return relationIds.clone();
        }

        /** True when the truncate cascaded to referencing tables. */
        public boolean cascade() {
            return (options & CASCADE) != 0;
        }

        /** True when owned sequences were reset. */
        public boolean restartIdentity() {
            return (options & RESTART_IDENTITY) != 0;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Truncate && ((Truncate) o).options == options
                    && Arrays.equals(((Truncate) o).relationIds, relationIds);
        }

        @Override
        public int hashCode() {
            return 31 * options + Arrays.hashCode(relationIds);
        }

        @Override
        public String toString() {
            return "Truncate[options=" + options + ", relationIds=" + Arrays.toString(relationIds) + "]";
        }
    }

    /**
     * A message written with {@code pg_logical_emit_message} ({@code 'M'}, only with the
     * {@code messages} option).
     *
     * @param transactional true if emitted inside the transaction, false if emitted immediately
     * @param lsn LSN of the message
     * @param prefix the prefix given by the writer
     * @param content the payload (copied in and out)
     */
    record LogicalMessage(boolean transactional, Lsn lsn, String prefix, byte[] content) implements WalMessage {
        /** Flag bit on the wire: the message is transactional. */
        public static final int FLAG_TRANSACTIONAL = 1;

        public LogicalMessage {
            Objects.requireNonNull(lsn, "lsn");
            Objects.requireNonNull(prefix, "prefix");
            content = content.clone();
        }

        /** A copy of the payload. */
        @Override
        public byte[] content() {
            return content.clone();
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof LogicalMessage)) {
                return false;
            }
            LogicalMessage m = (LogicalMessage) o;
            return m.transactional == transactional && m.lsn.equals(lsn) && m.prefix.equals(prefix)
                    && Arrays.equals(m.content, content);
        }

        @Override
        public int hashCode() {
            return Objects.hash(transactional, lsn, prefix, Arrays.hashCode(content));
        }

        @Override
        public String toString() {
            return "LogicalMessage[transactional=" + transactional + ", lsn=" + lsn + ", prefix=" + prefix
                    + ", content=" + content.length + " bytes]";
        }
    }
}
