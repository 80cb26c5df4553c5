package io.pgmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.validate.ReportText;
import io.pgmesh.validate.TableReport;
import io.pgmesh.validate.TableReport.Verdict;
import io.pgmesh.validate.ValidationReport;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** validate's answer when some keys were never judged: not "identical", and an exit status of its own. */
class ValidateExitTest {

    private static TableReport table(String name, Verdict verdict, long unchecked, List<String> busy) {
        return new TableReport(name, verdict, Map.of("east", 10L, "west", 10L), 0, List.of(), 0, unchecked, busy, List.of());
    }

    private static ValidationReport report(TableReport... tables) {
        boolean different = List.of(tables).stream().anyMatch(t -> t.verdict() == Verdict.DIFFERENT);
        boolean unsettled = !different && List.of(tables).stream().anyMatch(t -> t.verdict() == Verdict.UNSETTLED);
        return new ValidationReport(!different && !unsettled, unsettled, List.of("east", "west"), true, null, List.of(tables));
    }

    @Test
    void keysNeverJudgedAreNeitherIdenticalNorDifferent() {
        ValidationReport r = report(table("public.a", Verdict.IDENTICAL, 0, List.of()),
                table("public.b", Verdict.UNSETTLED, 12_000, List.of()));
        assertFalse(r.identical(), "12,000 keys never re-checked are not found identical");
        assertEquals(Main.UNSETTLED, ValidateCommand.exitCode(r));
        StringWriter text = new StringWriter();
        ReportText.print(r, new PrintWriter(text));
        assertTrue(text.toString().contains("UNSETTLED: no difference found, but keys above were not judged"), text.toString());
    }

    @Test
    void aDifferenceWinsOverKeysNotJudgedAndIdenticalIsZero() {
        assertEquals(Main.FAILED, ValidateCommand.exitCode(report(table("public.a", Verdict.DIFFERENT, 0, List.of()),
                table("public.b", Verdict.UNSETTLED, 0, List.of("(id)=(3)")))));
        assertEquals(Main.OK, ValidateCommand.exitCode(report(table("public.a", Verdict.IDENTICAL, 0, List.of()))));
    }
}
