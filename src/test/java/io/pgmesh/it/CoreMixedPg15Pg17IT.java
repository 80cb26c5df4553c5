package io.pgmesh.it;

import java.util.List;

/** One mesh of a PostgreSQL 15 node and a PostgreSQL 17 node, as during a rolling major upgrade. */
class CoreMixedPg15Pg17IT extends CoreScenarios {
    @Override
    List<String> versions() {
        return List.of("15.13.0", "17.5.0");
    }
}
