package io.pgmesh.conflict;

import io.pgmesh.config.ConflictSettings;
import io.pgmesh.pg.TableName;
import java.util.EnumMap;
import java.util.Map;

/** Which resolver decides the conflicts of each table, and what an unresolvable change does. */
public final class ConflictPolicy {
    private final ConflictSettings settings;
    private final Map<ConflictSettings.Rule, ConflictResolver> resolvers = new EnumMap<>(ConflictSettings.Rule.class);

    public ConflictPolicy(ConflictSettings settings) {
        this.settings = settings;
        for (ConflictSettings.Rule r : ConflictSettings.Rule.values()) {
            resolvers.put(r, resolver(r));
        }
    }

    /** Last-update-wins for every table, stop on an unresolvable change. */
    public static ConflictPolicy defaults() {
        return new ConflictPolicy(ConflictSettings.defaults());
    }

    public ConflictResolver resolverFor(TableName table) {
        return resolvers.get(settings.ruleFor(table.toString()));
    }

    public ConflictSettings.OnError onError() {
        return settings.onError();
    }

    static ConflictResolver resolver(ConflictSettings.Rule rule) {
        return switch (rule) {
            case LAST_UPDATE_WINS -> new LastUpdateWins();
            case FIRST_UPDATE_WINS -> new FirstUpdateWins();
            case KEEP_LOCAL -> new KeepLocal();
            case APPLY_REMOTE -> new ApplyRemote();
            case ERROR -> new ErrorOnConflict();
        };
    }
}
