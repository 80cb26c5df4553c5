package io.pgmesh.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(10)
class MeshConfigLoaderTest {

    private static final String PASSWORD = "Hunter2-very-secret";
    private static final Map<String, String> ENV = Map.of("EAST_PASSWORD", PASSWORD, "DB", "appdb");

    /** Two minimal valid nodes, to which a test appends what it checks. */
    private static final String TWO_NODES = """
            nodes:
              - name: east
                database: app
                user: pgmesh
              - name: west
                database: app
                user: pgmesh
            """;

    @TempDir
    Path dir;

    private static MeshConfig parse(String yaml) throws ConfigException {
        return MeshConfigLoader.parse("mesh.yaml", yaml, ENV::get, null);
    }

    /** The problems of a file that must be rejected. */
    private static List<String> problemsOf(String yaml) {
        return problemsOf(() -> parse(yaml));
    }

    private interface Load {
        MeshConfig run() throws ConfigException;
    }

    private static List<String> problemsOf(Load load) {
        try {
            MeshConfig config = load.run();
            return fail("expected the file to be rejected, but it loaded as " + config);
        } catch (ConfigException e) {
            assertEquals(String.join("\n", e.problems()), e.getMessage(),
                    "getMessage() must be the problems joined by newlines");
            return e.problems();
        }
    }

    /** One more valid node entry for the nodes list. */
    private static String node(String name) {
        return "  - name: " + name + "\n    database: app\n    user: pgmesh\n";
    }

    @Test
    void minimalFileGetsDefaults() throws Exception {
        Path file = Files.writeString(dir.resolve("mesh.yaml"), TWO_NODES);
        MeshConfig config = MeshConfigLoader.load(file, ENV::get);
        assertEquals(List.of(
                        new NodeConfig("east", "127.0.0.1", 5432, "app", "pgmesh", Secret.NONE, "prefer"),
                        new NodeConfig("west", "127.0.0.1", 5432, "app", "pgmesh", Secret.NONE, "prefer")),
                config.nodes(), "host, port, password and sslmode take their defaults when left out");
        assertEquals(TableSelection.defaults(), config.tables(), "tables defaults to include public.*");
        assertEquals(List.of("public.*"), config.tables().include(), "default include is public.*");
        assertEquals(List.of(), config.tables().exclude(), "default exclude is empty");
    }

    @Test
    void everyKeySet() throws Exception {
        MeshConfig config = parse("""
                nodes:
                  - name: east
                    host: db-east.internal
                    port: 6432
                    database: ${DB}
                    user: repl
                    password: ${EAST_PASSWORD}
                    sslmode: verify-full
                  - name: west_2
                    host: 10.0.0.2
                    database: app
                    user: repl
                    sslmode: disable
                tables:
                  include: ["public.*", "sales.order?"]
                  exclude: ["public.tmp_*"]
                """);
        NodeConfig east = config.node("east");
        assertEquals(new NodeConfig("east", "db-east.internal", 6432, "appdb", "repl", Secret.of(PASSWORD),
                "verify-full"), east, "every key of a node is read, ${DB} and ${EAST_PASSWORD} expanded");
        assertEquals("10.0.0.2", config.node("west_2").host(), "an IP address is a host string");
        assertEquals(new TableSelection(List.of("public.*", "sales.order?"), List.of("public.tmp_*")),
                config.tables(), "tables include and exclude are read as written");
    }

    @Test
    void nodeLookupByName() throws Exception {
        MeshConfig config = parse(TWO_NODES);
        assertEquals("west", config.node("west").name(), "node(name) finds the node");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> config.node("north"),
                "an absent node is an error, not null");
        assertTrue(e.getMessage().contains("north"), "the message names the missing node: " + e.getMessage());
    }

    @Test
    void monitoringSettingsReadWithUnitsAndDefaults() throws Exception {
        MonitorSettings d = parse(TWO_NODES).monitor();
        assertEquals(MonitorSettings.defaults(), d, "http off, 60 s, 10 GB unless set");
        MonitorSettings m = parse(TWO_NODES + "http:\n  listen: 127.0.0.1:9187\nhealth:\n  max-latency: 90s\n"
                + "slot-safety:\n  warn-retained-wal: 512MB\n").monitor();
        assertEquals(new MonitorSettings("127.0.0.1:9187", java.time.Duration.ofSeconds(90), 512L << 20), m);
        assertEquals(java.time.Duration.ofMinutes(2), parse(TWO_NODES + "health: {max-latency: 2m}\n").monitor().maxLatency());
        assertEquals(java.time.Duration.ofSeconds(30), parse(TWO_NODES + "health: {max-latency: 30}\n").monitor().maxLatency(),
                "a bare number is seconds");
        assertEquals(1L << 40, parse(TWO_NODES + "slot-safety: {warn-retained-wal: 1TB}\n").monitor().warnRetainedWalBytes());
    }

    @Test
    void monitoringSettingsProblemsNameTheKey() {
        assertEquals(List.of("mesh.yaml: http.listen: expected HOST:PORT, such as 127.0.0.1:9187, got \"9187\""),
                problemsOf(TWO_NODES + "http: {listen: \"9187\"}\n"));
        assertEquals(List.of("mesh.yaml: http.listen: the port must be 1..65535, got 70000"),
                problemsOf(TWO_NODES + "http: {listen: \"localhost:70000\"}\n"));
        assertEquals(List.of("mesh.yaml: health.max-latency: expected a positive duration such as 60s, 5m, 500ms or 30d,"
                + " got \"soon\""), problemsOf(TWO_NODES + "health: {max-latency: soon}\n"));
        assertEquals(List.of("mesh.yaml: slot-safety.warn-retained-wal: expected a positive size such as 10GB or"
                + " 512MB, got \"lots\""), problemsOf(TWO_NODES + "slot-safety: {warn-retained-wal: lots}\n"));
        assertEquals(List.of("mesh.yaml: health.max-lag: unknown key"),
                problemsOf(TWO_NODES + "health: {max-lag: 5s}\n"));
    }

    @Test
    void retentionDefaultsAndUnits() throws Exception {
        assertEquals(new MonitorSettings.Retention(java.time.Duration.ofDays(30), java.time.Duration.ofDays(90)),
                parse(TWO_NODES).monitor().retention(), "30 days of conflicts and 90 of apply errors unless set");
        assertEquals(new MonitorSettings.Retention(java.time.Duration.ofDays(7), java.time.Duration.ofHours(12)),
                parse(TWO_NODES + "retention:\n  conflicts: 7d\n  apply-errors: 12h\n").monitor().retention());
        assertEquals(java.time.Duration.ofDays(90), parse(TWO_NODES + "retention: {conflicts: 1d}\n").monitor().retention()
                .applyErrors(), "a key left out keeps its default");
    }

    @Test
    void retentionProblemsNameTheKey() {
        assertEquals(List.of("mesh.yaml: retention.conflicts: expected a positive duration such as 60s, 5m, 500ms or"
                + " 30d, got \"forever\""), problemsOf(TWO_NODES + "retention: {conflicts: forever}\n"));
        assertEquals(List.of("mesh.yaml: retention.apply-errors: expected a positive duration such as 60s, 5m, 500ms"
                + " or 30d, got \"0d\""), problemsOf(TWO_NODES + "retention: {apply-errors: 0d}\n"));
        assertEquals(List.of("mesh.yaml: retention.tombstones: unknown key"),
                problemsOf(TWO_NODES + "retention: {tombstones: 1d}\n"));
    }

    @Test
    void ddlReplicationIsOnUnlessTurnedOff() throws Exception {
        assertTrue(parse(TWO_NODES).replicateDdl(), "schema changes are replicated unless the file says otherwise");
        assertFalse(parse(TWO_NODES + "ddl: {replicate: false}\n").replicateDdl());
        assertEquals(List.of("mesh.yaml: ddl.replicate: expected true or false, got \"sometimes\""),
                problemsOf(TWO_NODES + "ddl: {replicate: sometimes}\n"));
        assertEquals(List.of("mesh.yaml: ddl.capture: unknown key"), problemsOf(TWO_NODES + "ddl: {capture: true}\n"));
        assertEquals(List.of("mesh.yaml: ddl: expected a mapping with the key replicate, got true"),
                problemsOf(TWO_NODES + "ddl: true\n"));
    }

    @Test
    void portThatIsNotANumber() {
        assertEquals(List.of("mesh.yaml: nodes[1].port: expected an integer 1..65535, got \"abc\""),
                problemsOf(TWO_NODES + "    port: abc\n"), "a string port is reported with its key and value");
    }

    @Test
    void portOutOfRange() {
        assertEquals(List.of("mesh.yaml: nodes[1].port: expected an integer 1..65535, got 70000"),
                problemsOf(TWO_NODES + "    port: 70000\n"), "70000 is not clamped, it is rejected");
        assertEquals(List.of("mesh.yaml: nodes[1].port: expected an integer 1..65535, got 0"),
                problemsOf(TWO_NODES + "    port: 0\n"), "port 0 is rejected");
        assertEquals(List.of("mesh.yaml: nodes[1].port: expected an integer 1..65535, got 5432.5"),
                problemsOf(TWO_NODES + "    port: 5432.5\n"), "a fractional port is rejected");
        assertEquals(List.of("mesh.yaml: nodes[1].port: expected an integer 1..65535, got 99999999999999999999"),
                problemsOf(TWO_NODES + "    port: 99999999999999999999\n"), "a huge port does not overflow");
    }

    @Test
    void severalProblemsReportedTogether() {
        List<String> problems = problemsOf("""
                nodes:
                  - name: East
                    port: abc
                    database: app
                    user: pgmesh
                    sslmode: strict
                  - name: west
                    database: app
                    colour: blue
                tables:
                  include: public.*
                """);
        assertEquals(List.of(
                "mesh.yaml: nodes[0].name: expected a name matching [a-z][a-z0-9_]{0,15}, got \"East\"",
                "mesh.yaml: nodes[0].port: expected an integer 1..65535, got \"abc\"",
                "mesh.yaml: nodes[0].sslmode: expected one of disable, allow, prefer, require, verify-ca, "
                        + "verify-full, got \"strict\"",
                "mesh.yaml: nodes[1].colour: unknown key",
                "mesh.yaml: nodes[1].user: required key is missing",
                "mesh.yaml: tables.include: expected a list of schema.table patterns, got \"public.*\""),
                problems, "every problem is reported at once, in file order, each naming its key");
    }

    @Test
    void unknownKeyAtTopLevel() {
        assertEquals(List.of("mesh.yaml: node: unknown key"),
                problemsOf(TWO_NODES + "node: {}\n"), "a misspelt top-level key is an error, not ignored");
    }

    @Test
    void unknownKeyInsideNode() {
        assertEquals(List.of("mesh.yaml: nodes[0].frobnicate: unknown key"),
                problemsOf(TWO_NODES.replace("name: east", "name: east\n    frobnicate: 1")),
                "an unknown key inside a node is an error");
    }

    @Test
    void unknownKeyInsideTables() {
        assertEquals(List.of("mesh.yaml: tables.includes: unknown key"),
                problemsOf(TWO_NODES + "tables:\n  includes: [\"a.b\"]\n"), "tables accepts only include and exclude");
    }

    @Test
    void initialLoadNamesANodeOfTheMesh() throws ConfigException {
        assertEquals("west", parse(TWO_NODES + "initial-load:\n  from: west\n").initialLoadSource().orElseThrow().name());
        assertTrue(parse(TWO_NODES).initialLoadSource().isEmpty(), "initial-load is optional");
        assertEquals(List.of("mesh.yaml: initial-load.from: expected the name of a node of this mesh (east, west), got \"south\""),
                problemsOf(TWO_NODES + "initial-load:\n  from: south\n"));
        assertEquals(List.of("mesh.yaml: initial-load.form: unknown key", "mesh.yaml: initial-load.from: required key is missing"),
                problemsOf(TWO_NODES + "initial-load:\n  form: east\n"));
    }

    @Test
    void duplicateNames() {
        assertEquals(List.of("mesh.yaml: nodes[2].name: duplicate name \"east\", already used by nodes[0]"),
                problemsOf(TWO_NODES + node("east")), "node names must be unique");
    }

    @Test
    void badNamePatterns() throws Exception {
        String yaml = """
                nodes:
                  - {name: 1east, database: app, user: u}
                  - {name: abcdefghijklmnopq, database: app, user: u}
                  - {name: we-st, database: app, user: u}
                  - {name: [a], database: app, user: u}
                  - {database: app, user: u}
                """;
        assertEquals(List.of(
                "mesh.yaml: nodes[0].name: expected a name matching [a-z][a-z0-9_]{0,15}, got \"1east\"",
                "mesh.yaml: nodes[1].name: expected a name matching [a-z][a-z0-9_]{0,15}, got \"abcdefghijklmnopq\"",
                "mesh.yaml: nodes[2].name: expected a name matching [a-z][a-z0-9_]{0,15}, got \"we-st\"",
                "mesh.yaml: nodes[3].name: expected a name matching [a-z][a-z0-9_]{0,15}, got a list",
                "mesh.yaml: nodes[4].name: required key is missing"),
                problemsOf(yaml), "names must start with a letter, be lower case, at most 16 characters");
        assertEquals("abcdefghijklmnop", parse(TWO_NODES.replace("west", "abcdefghijklmnop")).nodes().get(1).name(),
                "a name of exactly 16 characters is allowed");
    }

    @Test
    void fewerThanTwoNodes() {
        assertEquals(List.of("mesh.yaml: nodes: expected at least 2 nodes, got 1"),
                problemsOf("nodes:\n" + node("east")), "a mesh of one node replicates nothing");
        assertEquals(List.of("mesh.yaml: nodes: expected at least 2 nodes, got 0"),
                problemsOf("nodes: []\n"), "an empty node list is rejected");
        assertEquals(List.of("mesh.yaml: nodes: required key is missing"),
                problemsOf("tables: {}\n"), "nodes is required");
        assertEquals(List.of("mesh.yaml: nodes: required key is missing"),
                problemsOf(""), "an empty file lacks nodes");
        assertEquals(List.of("mesh.yaml: nodes: expected a list of nodes, got a mapping"),
                problemsOf("nodes: {east: {}}\n"), "nodes must be a list");
    }

    @Test
    void wrongTypesAndMissingKeys() {
        assertEquals(List.of(
                "mesh.yaml: nodes[0].host: expected a host name, got 5",
                "mesh.yaml: nodes[0].database: required key is missing",
                "mesh.yaml: nodes[0].user: expected a user name, got \"\"",
                "mesh.yaml: nodes[1]: expected a mapping with the keys name, database, user, ..., got \"west\""),
                problemsOf("""
                        nodes:
                          - name: east
                            host: 5
                            user: ""
                          - west
                        """), "wrong types, empty strings and missing required keys are each reported");
        assertEquals(List.of("mesh.yaml: nodes[1].host: expected a host name, got nothing"),
                problemsOf(TWO_NODES + "    host:\n"), "a key with no value does not silently take the default");
        assertEquals(List.of("mesh.yaml: expected a mapping with the keys nodes and tables, got a list"),
                problemsOf("- east\n- west\n"), "the top level must be a mapping");
    }

    @Test
    void tablePatternProblems() {
        assertEquals(List.of(
                "mesh.yaml: tables.include[0]: expected a schema.table pattern such as public.orders or sales.*, "
                        + "got \"orders\"",
                "mesh.yaml: tables.include[1]: expected a schema.table pattern, got 3",
                "mesh.yaml: tables.exclude: expected a list of schema.table patterns, got nothing"),
                problemsOf(TWO_NODES + "tables:\n  include: [orders, 3]\n  exclude:\n"),
                "each pattern is checked and named by its index");
        assertEquals(List.of("mesh.yaml: tables.include: expected at least one schema.table pattern, got an empty list"),
                problemsOf(TWO_NODES + "tables:\n  include: []\n"), "a mesh that replicates no table is a mistake");
    }

    @Test
    void malformedYamlIsOneLineWithPosition() {
        List<String> problems = problemsOf("nodes:\n  - name: east\n   bad: [\n");
        assertEquals(1, problems.size(), "malformed YAML gives exactly one line: " + problems);
        assertTrue(problems.get(0).matches("mesh\\.yaml: line \\d+, column \\d+: malformed YAML: .+"),
                "the line names the position: " + problems.get(0));
    }

    @Test
    void duplicateYamlKeyIsAnError() {
        List<String> problems = problemsOf(TWO_NODES.replace("user: pgmesh\n  - name: west",
                "user: pgmesh\n    user: other\n  - name: west"));
        assertEquals(List.of("mesh.yaml: line 5, column 5: malformed YAML: while constructing a mapping, found duplicate key user"), problems,
                "a repeated key must not silently override the first one");
    }

    @Test
    void javaTypeTagsAreNotConstructed() {
        List<String> problems = problemsOf(TWO_NODES + "tables: !!java.io.File [\"/etc/passwd\"]\n");
        assertEquals(1, problems.size(), "a Java type tag is rejected by the safe constructor: " + problems);
        assertTrue(problems.get(0).startsWith("mesh.yaml: line 8, column 9: malformed YAML: "),
                "the rejection names the position of the tag: " + problems.get(0));
    }

    @Test
    void missingFile() {
        assertEquals(List.of("mesh.yaml: cannot read: no such file"),
                problemsOf(() -> MeshConfigLoader.load(dir.resolve("mesh.yaml"), ENV::get)),
                "a missing file is one line, named by file name only");
    }

    @Test
    void environmentVariablesExpandInAnyString() throws Exception {
        Function<String, String> env = Map.of("HOST", "db", "SUFFIX", "2", "EAST_PASSWORD", PASSWORD)::get;
        MeshConfig config = MeshConfigLoader.parse("mesh.yaml", TWO_NODES.replace("name: west", """
                name: west
                    host: ${HOST}-west${SUFFIX}.internal
                    password: "$${not a variable}${EAST_PASSWORD}"
                """.stripTrailing()), env, null);
        NodeConfig west = config.node("west");
        assertEquals("db-west2.internal", west.host(), "several ${VAR} in one string are all expanded");
        assertEquals("${not a variable}" + PASSWORD, west.password().reveal(), "$${ is a literal ${");
    }

    @Test
    void missingEnvironmentVariable() {
        assertEquals(List.of(
                "mesh.yaml: nodes[0].password: environment variable NO_SUCH_VAR is not set",
                "mesh.yaml: nodes[1].host: environment variable ALSO_MISSING is not set"),
                problemsOf(TWO_NODES.replace("name: east", "name: east\n    password: ${NO_SUCH_VAR}")
                        + "    host: ${ALSO_MISSING}\n"),
                "a missing variable names the key and the variable, and every one is reported");
        assertEquals(List.of("mesh.yaml: nodes[1].host: unterminated ${ (write $${ for a literal ${)"),
                problemsOf(TWO_NODES + "    host: \"${OOPS\"\n"), "an unclosed ${ is an error, not literal text");
        assertEquals(List.of("mesh.yaml: nodes[1].host: a variable reference must look like ${NAME} with letters,"
                        + " digits and _ (write $${ for a literal ${)"),
                problemsOf(TWO_NODES + "    host: \"${1-x}\"\n"), "a malformed variable name is an error");
    }

    @Test
    void passwordFileRelativeToTheMeshFile() throws Exception {
        Files.writeString(dir.resolve("east.pw"), PASSWORD + "\n");
        Files.createDirectories(dir.resolve("secrets"));
        Files.writeString(dir.resolve("secrets/west.pw"), "west-pw\r\n");
        Path file = Files.writeString(dir.resolve("mesh.yaml"),
                TWO_NODES.replace("user: pgmesh\n  - name: west", "user: pgmesh\n    password-file: east.pw\n  - name: west")
                        + "    password-file: " + dir.resolve("secrets/west.pw") + "\n");
        MeshConfig config = MeshConfigLoader.load(file, ENV::get);
        assertEquals(PASSWORD, config.node("east").password().reveal(),
                "a relative password-file resolves against the mesh file's directory, trailing newline stripped");
        assertEquals("west-pw", config.node("west").password().reveal(), "an absolute path works, CRLF stripped");
    }

    @Test
    void passwordFileProblems() throws Exception {
        Files.writeString(dir.resolve("empty.pw"), "\n");
        List<String> problems = problemsOf(() -> MeshConfigLoader.parse("mesh.yaml",
                TWO_NODES.replace("user: pgmesh\n  - name: west", "user: pgmesh\n    password-file: nope.pw\n  - name: west")
                        + "    password-file: empty.pw\n", ENV::get, dir));
        assertEquals(List.of(
                "mesh.yaml: nodes[0].password-file: cannot read \"" + dir.resolve("nope.pw") + "\": no such file",
                "mesh.yaml: nodes[1].password-file: \"" + dir.resolve("empty.pw") + "\" is empty"),
                problems, "an unreadable or empty password file names the key and the file");
    }

    @Test
    void tlsFilesResolveAgainstTheMeshFileAndMustBeReadable() throws Exception {
        Files.writeString(dir.resolve("ca.crt"), "-----BEGIN CERTIFICATE-----\n");
        MeshConfig config = MeshConfigLoader.parse("mesh.yaml", TWO_NODES + "    sslmode: verify-full\n"
                + "    sslrootcert: ca.crt\n", ENV::get, dir);
        assertEquals(dir.resolve("ca.crt").toAbsolutePath().toString(), config.node("west").tls().rootCert());
        assertEquals(null, config.node("east").tls().rootCert(), "no file named: the driver's default");
        assertEquals(List.of("mesh.yaml: nodes[1].sslkey: cannot read \"" + dir.resolve("client.pk8").toAbsolutePath()
                        + "\": no such file"),
                problemsOf(() -> MeshConfigLoader.parse("mesh.yaml", TWO_NODES + "    sslkey: client.pk8\n", ENV::get,
                        dir)), "a TLS file that cannot be read names the key and the file");
    }

    @Test
    void passwordAndPasswordFileTogether() throws Exception {
        Files.writeString(dir.resolve("east.pw"), "other");
        assertEquals(List.of("mesh.yaml: nodes[1]: set either password or password-file, not both"),
                problemsOf(() -> MeshConfigLoader.parse("mesh.yaml",
                        TWO_NODES + "    password: " + PASSWORD + "\n    password-file: east.pw\n", ENV::get, dir)),
                "two sources for one password are ambiguous");
    }

    @Test
    void passwordNeverShown() throws Exception {
        MeshConfig config = parse(TWO_NODES.replace("name: west", "name: west\n    password: " + PASSWORD));
        assertFalse(config.toString().contains(PASSWORD), "MeshConfig.toString hides the password: " + config);
        assertFalse(config.node("west").toString().contains(PASSWORD), "NodeConfig.toString hides the password");
        assertTrue(config.node("west").toString().contains("password=****"), "the password shows as ****");
        assertTrue(config.node("east").toString().contains("password=(none)"), "no password shows as (none)");

        String numericPassword = "12345678987654321";
        List<String> problems = problemsOf(TWO_NODES.replace("name: west", "name: west\n    password: " + numericPassword)
                .replace("name: east", "name: east\n    password: \"\""));
        assertEquals(List.of(
                "mesh.yaml: nodes[0].password: is empty; leave the key out to connect without a password",
                "mesh.yaml: nodes[1].password: expected a string, got a number"),
                problems, "a password of the wrong type is described by its kind, never by its value");

        Files.writeString(dir.resolve("pw"), PASSWORD + "\n");
        List<String> all = new ArrayList<>(problems);
        all.addAll(problemsOf(TWO_NODES.replace("name: west", "name: west\n    password: \"" + PASSWORD)));
        all.addAll(problemsOf(TWO_NODES.replace("name: west", "name: west\n    password: " + PASSWORD
                + "\n    password: " + PASSWORD)));
        all.addAll(problemsOf(() -> MeshConfigLoader.parse("mesh.yaml", TWO_NODES
                + "    password: " + PASSWORD + "\n    password-file: pw\n    port: x\n", ENV::get, dir)));
        all.addAll(problemsOf(TWO_NODES + "    password: ${EAST_PASSWORD}\n    port: x\n"));
        for (String line : all) {
            assertFalse(line.contains(PASSWORD) || line.contains(numericPassword),
                    "no problem line may contain a password: " + line);
        }
    }

    @Test
    void secretBehaviour() {
        assertEquals("****", Secret.of("x").toString(), "a present secret prints as ****");
        assertEquals("(none)", Secret.NONE.toString(), "no secret prints as (none)");
        assertTrue(Secret.of("").isPresent(), "of() is present even when empty");
        assertFalse(Secret.NONE.isPresent(), "NONE is not present");
        assertEquals(Secret.of("a"), Secret.of("a"), "secrets compare by value");
        assertNotEquals(Secret.of("a"), Secret.NONE, "a secret differs from NONE");
        assertThrows(IllegalStateException.class, Secret.NONE::reveal, "NONE has nothing to reveal");
    }

    @Test
    void fileNameOnlyInMessages() throws Exception {
        Files.createDirectories(dir.resolve("conf"));
        Path file = Files.writeString(dir.resolve("conf/prod-mesh.yml"), TWO_NODES + "    port: abc\n",
                StandardCharsets.UTF_8);
        assertEquals(List.of("prod-mesh.yml: nodes[1].port: expected an integer 1..65535, got \"abc\""),
                problemsOf(() -> MeshConfigLoader.load(file, ENV::get)), "messages start with the file name only");
    }

    @Test
    void conflictsSectionIsOptionalAndDefaultsToLastUpdateWinsAndStop() throws ConfigException {
        ConflictSettings c = parse(TWO_NODES).conflicts();
        assertEquals(ConflictSettings.Rule.LAST_UPDATE_WINS, c.resolution());
        assertEquals(ConflictSettings.OnError.STOP, c.onError());
        assertEquals(Map.of(), c.tables());
    }

    @Test
    void conflictsSectionReadsResolutionOverridesAndOnError() throws ConfigException {
        ConflictSettings c = parse(TWO_NODES + """
                conflicts:
                  resolution: first-update-wins
                  tables:
                    public.accounts: error
                    "sales.Order Lines": keep-local
                  on-error: skip
                """).conflicts();
        assertEquals(ConflictSettings.Rule.FIRST_UPDATE_WINS, c.resolution());
        assertEquals(ConflictSettings.OnError.SKIP, c.onError());
        assertEquals(ConflictSettings.Rule.ERROR, c.ruleFor("public.accounts"));
        assertEquals(ConflictSettings.Rule.KEEP_LOCAL, c.ruleFor("sales.Order Lines"));
        assertEquals(ConflictSettings.Rule.FIRST_UPDATE_WINS, c.ruleFor("public.other"),
                "a table without an override takes the mesh's resolution");
    }

    @Test
    void conflictsSectionProblemsNameTheirKeysAndListTheAllowedValues() {
        assertEquals(List.of(
                        "mesh.yaml: conflicts.resolution: expected one of last-update-wins | first-update-wins | keep-local"
                                + " | apply-remote | error, got \"newest\"",
                        "mesh.yaml: conflicts.tables.accounts: expected one table as schema.table, such as public.accounts,"
                                + " got \"accounts\"",
                        "mesh.yaml: conflicts.tables.public.orders: expected one of last-update-wins | first-update-wins"
                                + " | keep-local | apply-remote | error, got \"oldest\"",
                        "mesh.yaml: conflicts.tables.public.*: expected one table as schema.table, such as public.accounts,"
                                + " got \"public.*\"",
                        "mesh.yaml: conflicts.on-error: expected stop or skip, got \"ignore\""),
                problemsOf(TWO_NODES + """
                        conflicts:
                          resolution: newest
                          tables:
                            accounts: error
                            public.orders: oldest
                            public.*: error
                          on-error: ignore
                        """));
        assertEquals(List.of("mesh.yaml: conflicts.resolve: unknown key"),
                problemsOf(TWO_NODES + "conflicts:\n  resolve: keep-local\n"));
        assertEquals(List.of("mesh.yaml: conflicts: expected a mapping with the keys resolution, tables and on-error,"
                        + " got \"keep-local\""),
                problemsOf(TWO_NODES + "conflicts: keep-local\n"));
        assertEquals(List.of("mesh.yaml: conflicts.tables: expected a mapping of schema.table to a resolution, got a list"),
                problemsOf(TWO_NODES + "conflicts:\n  tables: [public.a]\n"));
    }
}
