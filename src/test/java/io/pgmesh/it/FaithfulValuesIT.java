package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Values travel exactly: edge values of every common type, arrays, enums, domains, ranges, and
 * NULL versus empty arrive identical, in both directions, through inserts and updates.
 */
@Timeout(90)
class FaithfulValuesIT {
    @AutoClose
    static PgCluster cluster;

    private static final String COLUMNS = """
            id int PRIMARY KEY,
            i2 smallint, i4 int, i8 bigint,
            num numeric, r4 real, f8 double precision,
            t text, vc varchar(40), ch char(6),
            b bytea, flag boolean,
            d date, tm time, ttz timetz, ts timestamp, tstz timestamptz, iv interval,
            u uuid, j json, jb jsonb,
            ip inet, net cidr, mac macaddr, bits varbit,
            ia int[], ia2 int[], ta text[], ma mood[],
            m mood, p posint, r4r int4range, tr tstzrange, nr numrange
            """;

    /** Row 1: minimum and odd values. */
    private static final String ROW_MIN = """
            (1, -32768, -2147483648, -9223372036854775808,
             'NaN', 'NaN', 'NaN',
             E'it''s "quoted" \\\\back\\\\slash\\ttab\\nnew line\\r', 'x''y"z', 'ab',
             E'\\\\x00ff000001', true,
             '4713-01-01 BC', '00:00:00', '00:00:00+14', '-infinity', 'infinity', '-178000000 years',
             '00000000-0000-0000-0000-000000000000', '{ "a" :1,"a":2 , "b": [1,2 ,3],  "c":"\\u00e9" }',
             '{"z": null, "a": [1, "two", {"x": 1.50}], "": ""}',
             '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', B'101',
             '{1,NULL,3}', '{{1,2},{3,NULL}}', ARRAY['a "quoted" one', 'back\\slash', NULL, 'NULL', '', 'comma,brace}'],
             '{sad,happy}',
             'sad', 1, '[1,10)', '[2024-01-01 00:00+00,infinity)', '(,0.5]')
            """;

    /** Row 2: maximum and unusual values. */
    private static final String ROW_MAX = """
            (2, 32767, 2147483647, 9223372036854775807,
             repeat('9', 1000)::numeric + 0.000000000000000000000000000000000001, 'Infinity', '-Infinity',
             'emoji 😀🇪🇺 ünïcödé 漢字 combining é', 'ß', 'ü',
             E'\\\\x', false,
             '5874897-12-31', '24:00:00', '23:59:59.999999-15:59', '294276-12-31 23:59:59.999999', '-infinity',
             '1 year 2 mons 3 days 04:05:06.789',
             'ffffffff-ffff-ffff-ffff-ffffffffffff', '[]', '[1e400, -0, 0.1000]',
             '::1', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', B'',
             '{}', '{{{1}},{{2}}}', '{}', '{}',
             'it''s "complicated"', 2147483647, 'empty', '(,)', '[-1e30,1e30]')
            """;

    /** Row 3: NULL in every column but the key. */
    private static final String ROW_NULLS = "(3" + ", NULL".repeat(33) + ")\n";

    /** Row 4: empty where empty exists, next to row 3's NULLs. */
    private static final String ROW_EMPTY = """
            (4, 0, 0, 0, '0', '-0', '-0', '', '', '', '', false,
             '2000-01-01', '12:00', '12:00+00', '2000-01-01 00:00', '2000-01-01 00:00+00', '0 seconds',
             'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '""', '{}', '0.0.0.0/0', '0.0.0.0/0', '00:00:00:00:00:00', B'0',
             '{NULL}', '{{NULL,NULL}}', '{""}', '{}',
             'ok', 1, '(1,1)', 'empty', 'empty')
            """;

    /** Row 5: floats that need every digit, numeric special and precise values. */
    private static final String ROW_PRECISE = """
            (5, 1, 1, 1, '-0.000000000000000000000000000001', '1.17549435e-38', '4.9e-324',
             repeat('long text ', 2000), NULL, NULL, decode(repeat('00', 3000), 'hex'), NULL,
             '0044-03-15 BC', '13:37:00.000001', NULL, '1999-12-31 23:59:59.999999', '1970-01-01 00:00:00.000001+00',
             '-1 days +02:03:00', NULL, '  {"spaces"  :  true  }  ', '{"nested": {"deep": [[[]]]}}', NULL, NULL, NULL,
             NULL, '[0:2]={7,8,9}', NULL, '{"\\\\\\"",NULL}', NULL, NULL, NULL, NULL, NULL, NULL)
            """;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'it''s \"complicated\"')");
        cluster.sqlAll("CREATE DOMAIN posint AS int CHECK (VALUE > 0)");
        cluster.sqlAll("CREATE TABLE vals (" + COLUMNS + ")");
        cluster.startMesh();
    }

    @Test
    void everyValueArrivesIdenticalInBothDirections() throws Exception {
        String rows = String.join(",\n", ROW_MIN, ROW_MAX, ROW_NULLS, ROW_EMPTY, ROW_PRECISE);
        cluster.sql(0, "INSERT INTO vals VALUES " + rows);
        // West writes the same values under its own keys 101..105; later each node changes the other's rows.
        cluster.sql(1, "INSERT INTO vals VALUES " + rows.replaceAll("(?m)^\\((\\d),", "(10$1,"));
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(10, cluster.count(0, "SELECT count(*) FROM vals"), "east must hold its 5 rows and west's 5");
        assertSame("after inserts on both nodes");
        assertEquals(cluster.queryColumn(0, "SELECT j::text FROM vals ORDER BY id"),
                cluster.queryColumn(1, "SELECT j::text FROM vals ORDER BY id"),
                "json must stay byte-identical, whitespace and duplicate keys included");

        cluster.sql(1, """
                UPDATE vals SET t = t || ' (changed on west)', num = num * 2, f8 = -f8, ia = ia || 4,
                       ta = ta || 'he said "hi"'::text, jb = jb || '{"west": [true, null]}', b = b || '\\x0000'::bytea,
                       tstz = '2001-02-03 04:05:06.789012+05:30', iv = iv + interval '1 microsecond', m = 'happy', tr = '[2020-01-01,2021-01-01)'
                 WHERE id IN (1, 2, 4, 5)""");
        cluster.sql(1, "UPDATE vals SET t = '', ta = '{}', j = 'null', ia2 = NULL WHERE id = 3");
        cluster.sql(0, "UPDATE vals SET t = NULL, vc = '', r4 = 'NaN', f8 = '-Infinity', ip = '::ffff:1.2.3.4/128'"
                + " WHERE id IN (101, 104)");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals("", cluster.queryString(0, "SELECT t FROM vals WHERE id = 3"),
                "west's update of NULL to '' must arrive as '', not NULL");
        assertEquals(null, cluster.queryString(1, "SELECT t FROM vals WHERE id = 104"),
                "east's update of '' to NULL must arrive as NULL, not ''");
        assertSame("after updates of each other's rows");
    }

    private static void assertSame(String when) throws Exception {
        String east = cluster.dump(0, "vals", "id");
        String west = cluster.dump(1, "vals", "id");
        String[] e = east.split("\n");
        String[] w = west.split("\n");
        assertEquals(e.length, w.length, "both nodes must hold the same number of rows " + when);
        for (int i = 0; i < e.length; i++) {
            assertEquals(e[i], w[i], "row " + (i + 1) + " must be identical on east and west " + when);
        }
    }
}
