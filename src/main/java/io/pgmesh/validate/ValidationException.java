package io.pgmesh.validate;

/** Validation could not be carried out: a node is unreachable or failed a query. The message names the node. */
public final class ValidationException extends Exception {
    public ValidationException(String message, Throwable cause) {
        super(message, cause);
    }
}
