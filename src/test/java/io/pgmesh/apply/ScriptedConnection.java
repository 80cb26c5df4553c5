package io.pgmesh.apply;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A JDBC connection without a server, for the decisions of the apply path: it records every
 * statement it is given (an {@code EXECUTE} of a prepared statement as the statement's SQL, with
 * its arguments) and answers from a script: for the first rule whose text the SQL contains, the
 * next of its answers (the last one repeats). An answer is an update count or the rows of a query.
 * What no rule covers changes one row and returns no rows.
 */
final class ScriptedConnection {
    private static final Pattern EXECUTE = Pattern.compile("(?s)EXECUTE (\\w+)\\((.*)\\)");
    private static final Pattern PREPARE = Pattern.compile("(?s)PREPARE (\\w+) AS (.*)");

    /** What ran, in order: the SQL (prepared statements resolved), then " <- " and the arguments if any. */
    final List<String> log = new ArrayList<>();
    private final Map<String, Deque<Object>> rules = new LinkedHashMap<>();
    private final Map<String, String> prepared = new HashMap<>();

    /** Queries whose SQL contains {@code text} return these answers in turn: a {@code List<Object[]>} of rows or an Integer count. */
    ScriptedConnection on(String text, Object... answers) {
        rules.put(text, new ArrayDeque<>(List.of(answers)));
        return this;
    }

    static List<Object[]> rows(Object[]... rows) {
        return List.of(rows);
    }

    static final List<Object[]> NO_ROWS = List.of();

    /** The statements that ran whose SQL contains {@code text}. */
    List<String> ran(String text) {
        return log.stream().filter(s -> s.contains(text)).toList();
    }

    Connection connection() {
        return proxy(Connection.class, (p, m, args) -> switch (m.getName()) {
            case "createStatement" -> statement();
            case "prepareStatement" -> prepared((String) args[0]);
            case "close", "setAutoCommit" -> null;
            case "isClosed", "getAutoCommit" -> m.getName().equals("getAutoCommit");
            default -> throw new UnsupportedOperationException("connection." + m.getName());
        });
    }

    private Statement statement() {
        return proxy(Statement.class, (p, m, args) -> switch (m.getName()) {
            case "execute" -> {
                run((String) args[0]);
                yield false;
            }
            case "executeUpdate" -> count(run((String) args[0]));
            case "executeQuery" -> resultSet(rowsOf(run((String) args[0])));
            case "close" -> null;
            default -> throw new UnsupportedOperationException("statement." + m.getName());
        });
    }

    private PreparedStatement prepared(String sql) {
        List<Object> params = new ArrayList<>();
        return proxy(PreparedStatement.class, (p, m, args) -> {
            if (m.getName().startsWith("set")) {
                params.add(args[1]);
                return null;
            }
            return switch (m.getName()) {
                case "executeUpdate" -> {
                    Object answer = answer(sql + " <- " + params);
                    params.clear();
                    yield count(answer);
                }
                case "executeQuery" -> {
                    Object answer = answer(sql + " <- " + params);
                    params.clear();
                    yield resultSet(rowsOf(answer));
                }
                case "close" -> null;
                default -> throw new UnsupportedOperationException("preparedStatement." + m.getName());
            };
        });
    }

    private Object run(String sql) {
        Matcher prepare = PREPARE.matcher(sql);
        if (prepare.matches()) {
            prepared.put(prepare.group(1), prepare.group(2));
            return 0;
        }
        Matcher execute = EXECUTE.matcher(sql);
        if (execute.matches() && prepared.containsKey(execute.group(1))) {
            return answer(prepared.get(execute.group(1)) + " <- " + execute.group(2));
        }
        return answer(sql);
    }

    private Object answer(String resolved) {
        log.add(resolved);
        for (Map.Entry<String, Deque<Object>> rule : rules.entrySet()) {
            if (resolved.contains(rule.getKey())) {
                Deque<Object> answers = rule.getValue();
                return answers.size() > 1 ? answers.poll() : answers.peek();
            }
        }
        return 1;
    }

    private static int count(Object answer) {
        return answer instanceof Integer n ? n : 0;
    }

    @SuppressWarnings("unchecked")
    private static List<Object[]> rowsOf(Object answer) {
        return answer instanceof List<?> l ? (List<Object[]>) l : NO_ROWS;
    }

    private static ResultSet resultSet(List<Object[]> rows) {
        int[] at = {-1};
        return proxy(ResultSet.class, (p, m, args) -> switch (m.getName()) {
            case "next" -> ++at[0] < rows.size();
            case "getString" -> {
                Object v = rows.get(at[0])[(int) args[0] - 1];
                yield v == null ? null : v.toString();
            }
            case "getTimestamp" -> (Timestamp) rows.get(at[0])[(int) args[0] - 1];
            case "getLong" -> ((Number) rows.get(at[0])[(int) args[0] - 1]).longValue();
            case "getBoolean" -> (Boolean) rows.get(at[0])[(int) args[0] - 1];
            case "close" -> null;
            default -> throw new UnsupportedOperationException("resultSet." + m.getName());
        });
    }

    private static <T> T proxy(Class<T> type, InvocationHandler h) {
        return type.cast(Proxy.newProxyInstance(ScriptedConnection.class.getClassLoader(), new Class<?>[] {type},
                (p, m, args) -> m.getDeclaringClass() == Object.class ? objectMethod(p, m, args) : h.invoke(p, m, args)));
    }

    private static Object objectMethod(Object p, Method m, Object[] args) {
        return switch (m.getName()) {
            case "equals" -> p == args[0];
            case "hashCode" -> System.identityHashCode(p);
            default -> "scripted " + p.getClass().getInterfaces()[0].getSimpleName();
        };
    }
}
