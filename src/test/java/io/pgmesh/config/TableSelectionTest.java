package io.pgmesh.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class TableSelectionTest {

    @Test
    void defaultsSelectThePublicSchemaOnly() {
        TableSelection s = TableSelection.defaults();
        assertTrue(s.matches("public", "orders"), "public.* includes every public table");
        assertFalse(s.matches("sales", "orders"), "other schemas are not included by default");
        assertFalse(s.matches("pgmesh", "conflicts"), "the control schema is not included by default");
    }

    @Test
    void excludeWinsOverInclude() {
        TableSelection s = new TableSelection(List.of("public.*", "sales.*"), List.of("public.tmp_*", "sales.audit"));
        assertTrue(s.matches("public", "orders"), "included and not excluded");
        assertFalse(s.matches("public", "tmp_import"), "excluded by public.tmp_* although public.* includes it");
        assertFalse(s.matches("sales", "audit"), "excluded by an exact name");
        assertTrue(s.matches("sales", "audit_log"), "an exact exclude does not act as a prefix");
        assertFalse(s.matches("hr", "people"), "not included at all");
    }

    @Test
    void questionMarkMatchesExactlyOneCharacter() {
        TableSelection s = new TableSelection(List.of("public.t?"), List.of());
        assertTrue(s.matches("public", "t1"), "? matches one character");
        assertFalse(s.matches("public", "t"), "? does not match nothing");
        assertFalse(s.matches("public", "t12"), "? does not match two characters");
        assertTrue(s.matches("public", "t\uD83D\uDE00"), "? matches one character outside the BMP");
    }

    @Test
    void starCrossesTheDot() {
        TableSelection s = new TableSelection(List.of("*_archive"), List.of());
        assertTrue(s.matches("public", "orders_archive"), "* may span schema, dot and table");
        assertTrue(new TableSelection(List.of("pub*ders"), List.of()).matches("public", "orders"),
                "a star in the schema part may consume the dot");
        assertTrue(new TableSelection(List.of("*.*"), List.of()).matches("any", "table"), "*.* matches every table");
        assertTrue(new TableSelection(List.of("a**b.*c*"), List.of()).matches("ab", "xcx"), "consecutive stars work");
    }

    @Test
    void matchingIsCaseSensitiveAndLiteral() {
        TableSelection s = new TableSelection(List.of("public.Orders", "public.a+b", "public.x[1]"), List.of());
        assertTrue(s.matches("public", "Orders"), "a mixed-case name matches exactly as stored in the catalog");
        assertFalse(s.matches("public", "orders"), "matching is case-sensitive");
        assertTrue(s.matches("public", "a+b"), "regex characters are literal");
        assertTrue(s.matches("public", "x[1]"), "brackets are literal");
        assertFalse(s.matches("public", "aab"), "+ is not a regex quantifier");
        assertFalse(s.matches("publicXOrders", ""), "the dot is a literal dot, not any character");
    }

    @Test
    void backtrackingDoesNotBlowUp() {
        String pattern = "*a*a*a*a*a*a*a*a*a*b";
        String name = "a".repeat(5000);
        assertFalse(TableSelection.globMatches(pattern, name), "a pathological pattern finishes quickly and fails");
    }

    @Test
    void listsAreCopiedAndImmutable() {
        List<String> include = new ArrayList<>(List.of("public.*"));
        TableSelection s = new TableSelection(include, List.of());
        include.add("sales.*");
        assertFalse(s.matches("sales", "orders"), "later changes to the caller's list do not leak in");
        assertThrows(UnsupportedOperationException.class, () -> s.include().add("x.*"),
                "the selection cannot be changed after construction");
    }

    @Test
    void globsBecomeLikePatternsThatMatchTheSameNames() {
        TableSelection s = new TableSelection(List.of("public.*", "app?.t_*", "*audit"), List.of("public.tmp%_x"));
        assertEquals(List.of("public.%", "app_.t\\_%", "%audit"), s.includeLike(), "* and ? map, _ is escaped");
        assertEquals(List.of("public.tmp\\%\\_x"), s.excludeLike(), "% and _ in a name match only themselves");
        assertEquals(List.of("public", "app_", "%"), s.schemaLike(),
                "a pattern's schema is what precedes its first dot; one without a dot may match any schema");
    }
}
