package io.pgmesh.cli;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * {@code --log-format text|json}: text is a line per event (time, level, logger, message); json
 * is one JSON object per line, Logback's own encoder, for log shippers. Read from the command
 * line before anything logs, so that every line of the run has the chosen format.
 */
final class LogFormat {
    static final String OPTION = "--log-format";

    private LogFormat() {
    }

    /** The format the arguments ask for: "text" when they name none, null when the value is not known. */
    static String requested(List<String> args) {
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals(OPTION)) {
                return i + 1 < args.size() ? known(args.get(i + 1)) : null;
            }
            if (a.startsWith(OPTION + "=")) {
                return known(a.substring(OPTION.length() + 1));
            }
        }
        return "text";
    }

    private static String known(String value) {
        return value.equals("text") || value.equals("json") ? value : null;
    }

    /** Switches the stderr appender to JSON lines. */
    static void useJson() {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
            return;
        }
        Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        if (!(root.getAppender(LogSetup.APPENDER) instanceof ConsoleAppender<ILoggingEvent> appender)) {
            return;
        }
        JsonEncoder encoder = new JsonEncoder();
        encoder.setContext(ctx);
        encoder.setWithSequenceNumber(false);
        encoder.setWithNanoseconds(false);
        encoder.setWithContext(false);
        encoder.setWithArguments(false);
        encoder.setWithMessage(false);
        encoder.setWithFormattedMessage(true);
        encoder.start();
        appender.stop();
        appender.setEncoder(encoder);
        appender.start();
    }
}
