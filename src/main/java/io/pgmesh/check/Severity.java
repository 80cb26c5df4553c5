package io.pgmesh.check;

/** How bad a finding is: an ERROR stops {@code init}; a WARNING is worth knowing but not blocking. */
public enum Severity {
    ERROR,
    WARNING
}
