package io.pgmesh.cli;

/** Ends a command with an exit code and a message already fit for the user. */
final class ExitException extends RuntimeException {
    private final int code;

    ExitException(int code, String message) {
        super(message);
        this.code = code;
    }

    int code() {
        return code;
    }
}
