package io.pgmesh.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class CopyRunTest {

    @Test
    void escapesWhatEndsAFieldOrARowAndTheBackslash() {
        StringBuilder out = new StringBuilder();
        CopyRun.escape(out, "a\tb\nc\rd\\e 'f' \"g\" é");
        assertEquals("a\\tb\\nc\\rd\\\\e 'f' \"g\" é", out.toString());
    }

    @Test
    void aLiteralBackslashNIsNotANull() {
        StringBuilder out = new StringBuilder();
        CopyRun.escape(out, "\\N");
        assertEquals("\\\\N", out.toString());
    }

    @Test
    void arrayElementsAreQuotedWithTheirQuotesAndBackslashesEscaped() {
        StringBuilder out = new StringBuilder();
        CopyRun.arrayElement(out, "a\"b\\c,{d} NULL");
        assertEquals("\"a\\\"b\\\\c,{d} NULL\"", out.toString());
    }
}
