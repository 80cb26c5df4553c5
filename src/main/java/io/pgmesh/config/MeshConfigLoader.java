package io.pgmesh.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Loads the mesh file and validates it once, at start-up.
 *
 * <p>The YAML is parsed into plain maps and lists (SnakeYAML's {@link SafeConstructor}, so no
 * tag can instantiate a Java type), then checked by hand so that every problem names its key.
 * All problems are collected and thrown together as one {@link ConfigException}, one line
 * each: {@code mesh.yaml: nodes[1].port: expected an integer 1..65535, got "abc"}. No message
 * ever contains a password.
 */
public final class MeshConfigLoader {

    private static final Set<String> TOP_KEYS = Set.of("nodes", "tables", "initial-load", "conflicts", "http", "health",
            "slot-safety", "retention", "ddl");
    private static final Set<String> INITIAL_LOAD_KEYS = Set.of("from");
    private static final Set<String> TABLE_KEYS = Set.of("include", "exclude");
    private static final int MIN_NODES = 2;

    private MeshConfigLoader() {
    }

    /** Loads {@code file}, expanding {@code ${VAR}} from the process environment. */
    public static MeshConfig load(Path file) throws ConfigException {
        return load(file, System::getenv);
    }

    /**
     * Loads {@code file}, expanding {@code ${VAR}} with {@code env} (null for an unset variable).
     * Problems are reported under the file's name without its directory; relative
     * {@code password-file} paths start at the file's directory.
     */
    public static MeshConfig load(Path file, Function<String, String> env) throws ConfigException {
        Objects.requireNonNull(env, "env");
        String displayName = file.getFileName() != null ? file.getFileName().toString() : file.toString();
        String text;
        try {
            if (Files.isDirectory(file)) {
                throw new ConfigException(List.of(displayName + ": cannot read: is a directory"));
            }
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(List.of(displayName + ": cannot read: " + Fields.ioReason(e)));
        }
        return parse(displayName, text, env, file.toAbsolutePath().getParent());
    }

    /**
     * Parses and validates mesh YAML.
     *
     * @param displayName how the file is named in messages, e.g. {@code mesh.yaml}
     * @param yamlText    the file's content
     * @param env         environment look-up for {@code ${VAR}}; returns null for an unset variable
     * @param baseDir     where relative {@code password-file} paths start; null for the working directory
     * @throws ConfigException with every problem found
     */
    public static MeshConfig parse(String displayName, String yamlText, Function<String, String> env,
                                   Path baseDir) throws ConfigException {
        Objects.requireNonNull(env, "env");
        Problems problems = new Problems(displayName);
        Object root = parseYaml(yamlText, problems);
        problems.throwIfAny();
        Fields fields = new Fields(problems, env);
        if (root != null && !(root instanceof Map)) {
            problems.add("", "expected a mapping with the keys nodes and tables, got " + Fields.kind(root));
            problems.throwIfAny();
        }
        Map<?, ?> top = root == null ? Map.of() : (Map<?, ?>) root;
        fields.rejectUnknownKeys(top, "", TOP_KEYS);
        List<NodeConfig> nodes = nodes(top, fields, baseDir);
        TableSelection tables = tables(top, fields);
        String loadFrom = initialLoadFrom(top, fields, nodes);
        ConflictSettings conflicts = new ConflictSettingsReader(fields).read(top);
        MonitorSettings monitor = new MonitorSettingsReader(fields).read(top);
        boolean replicateDdl = replicateDdl(top, fields);
        problems.throwIfAny();
        return new MeshConfig(nodes, tables, loadFrom, conflicts, monitor, replicateDdl);
    }

    /** {@code ddl.replicate}, true when absent. */
    private static boolean replicateDdl(Map<?, ?> top, Fields fields) {
        Object raw = top.get("ddl");
        if (raw == null) {
            return true;
        }
        if (!(raw instanceof Map<?, ?> ddl)) {
            fields.problems().add("ddl", "expected a mapping with the key replicate, got " + Fields.describe(raw));
            return true;
        }
        fields.rejectUnknownKeys(ddl, "ddl", Set.of("replicate"));
        Object replicate = ddl.get("replicate");
        if (replicate == null) {
            return true;
        }
        if (!(replicate instanceof Boolean b)) {
            fields.problems().add("ddl.replicate", "expected true or false, got " + Fields.describe(replicate));
            return true;
        }
        return b;
    }

    /** The parsed document (maps, lists, scalars), or null after reporting it as malformed. */
    private static Object parseYaml(String yamlText, Problems problems) {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        options.setAllowRecursiveKeys(false);
        options.setMaxAliasesForCollections(20);
        options.setNestingDepthLimit(20);
        options.setCodePointLimit(1024 * 1024);
        try {
            return new Yaml(new SafeConstructor(options)).load(yamlText);
        } catch (MarkedYAMLException e) {
            // Only the position and SnakeYAML's short problem text: its full message quotes the
            // offending line, which may be a password.
            Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            String what = e.getContext() == null ? e.getProblem()
                    : e.getProblem() == null ? e.getContext() : e.getContext() + ", " + e.getProblem();
            String where = mark == null ? "" : "line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1);
            problems.add(where, "malformed YAML: " + what);
        } catch (YAMLException e) {
            problems.add("", "malformed YAML: " + e.getMessage());
        }
        return null;
    }

    private static List<NodeConfig> nodes(Map<?, ?> top, Fields fields, Path baseDir) {
        Problems problems = fields.problems();
        if (!top.containsKey("nodes")) {
            problems.add("nodes", "required key is missing");
            return List.of();
        }
        if (!(top.get("nodes") instanceof List<?> entries)) {
            problems.add("nodes", "expected a list of nodes, got " + Fields.describe(top.get("nodes")));
            return List.of();
        }
        if (entries.size() < MIN_NODES) {
            problems.add("nodes", "expected at least " + MIN_NODES + " nodes, got " + entries.size());
        }
        NodeConfigReader reader = new NodeConfigReader(fields, baseDir);
        List<NodeConfig> nodes = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            NodeConfig node = reader.read(entries.get(i), "nodes[" + i + "]");
            if (node != null) {
                nodes.add(node);
            }
        }
        return nodes;
    }

    /** The node named by {@code initial-load.from}, or null when the key is absent. */
    private static String initialLoadFrom(Map<?, ?> top, Fields fields, List<NodeConfig> nodes) {
        if (!top.containsKey("initial-load")) {
            return null;
        }
        if (!(top.get("initial-load") instanceof Map<?, ?> map)) {
            fields.problems().add("initial-load", "expected a mapping with the key from, got "
                    + Fields.describe(top.get("initial-load")));
            return null;
        }
        fields.rejectUnknownKeys(map, "initial-load", INITIAL_LOAD_KEYS);
        if (!map.containsKey("from")) {
            fields.problems().add("initial-load.from", "required key is missing");
            return null;
        }
        String from = fields.string(map.get("from"), "initial-load.from", "a node name", false);
        if (from != null && nodes.stream().noneMatch(n -> n.name().equals(from))) {
            fields.problems().add("initial-load.from", "expected the name of a node of this mesh ("
                    + String.join(", ", nodes.stream().map(NodeConfig::name).toList()) + "), got " + Fields.quote(from));
            return null;
        }
        return from;
    }

    private static TableSelection tables(Map<?, ?> top, Fields fields) {
        if (!top.containsKey("tables")) {
            return TableSelection.defaults();
        }
        if (!(top.get("tables") instanceof Map<?, ?> map)) {
            fields.problems().add("tables", "expected a mapping with the keys include and exclude, got "
                    + Fields.describe(top.get("tables")));
            return null;
        }
        fields.rejectUnknownKeys(map, "tables", TABLE_KEYS);
        List<String> include = patterns(map, "include", TableSelection.defaults().include(), fields);
        List<String> exclude = patterns(map, "exclude", List.of(), fields);
        return include == null || exclude == null ? null : new TableSelection(include, exclude);
    }

    /** The list of schema.table patterns under {@code key}, or null after reporting a problem. */
    private static List<String> patterns(Map<?, ?> tables, String key, List<String> defaultValue, Fields fields) {
        String path = "tables." + key;
        if (!tables.containsKey(key)) {
            return defaultValue;
        }
        Problems problems = fields.problems();
        if (!(tables.get(key) instanceof List<?> raw)) {
            problems.add(path, "expected a list of schema.table patterns, got " + Fields.describe(tables.get(key)));
            return null;
        }
        if (key.equals("include") && raw.isEmpty()) {
            problems.add(path, "expected at least one schema.table pattern, got an empty list");
            return null;
        }
        int before = problems.count();
        List<String> patterns = new ArrayList<>();
        for (int i = 0; i < raw.size(); i++) {
            String itemPath = path + "[" + i + "]";
            String pattern = fields.string(raw.get(i), itemPath, "a schema.table pattern", false);
            if (pattern != null && (pattern.indexOf('.') <= 0 || pattern.endsWith("."))) {
                problems.add(itemPath, "expected a schema.table pattern such as public.orders or sales.*, got "
                        + Fields.quote(pattern));
            } else if (pattern != null) {
                patterns.add(pattern);
            }
        }
        return problems.count() > before ? null : patterns;
    }
}
