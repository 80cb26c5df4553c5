package io.pgmesh.it;

import java.util.List;

/** Both nodes on PostgreSQL 15: no server-side origin filter, so loopback is dropped by pgmesh itself. */
class CorePg15IT extends CoreScenarios {
    @Override
    List<String> versions() {
        return List.of("15.13.0", "15.13.0");
    }
}
