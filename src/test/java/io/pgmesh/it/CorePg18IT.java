package io.pgmesh.it;

import java.util.List;

/** Both nodes on PostgreSQL 18, the newest supported release. */
class CorePg18IT extends CoreScenarios {
    @Override
    List<String> versions() {
        return List.of("18.1.0", "18.1.0");
    }
}
