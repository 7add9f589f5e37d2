package io.kvstream.storage;

import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;

/** The upper bound of a listing's prefix: the least string after every string that starts with the prefix. */
class HistoryRangeTest {
    @Test
    void theLastCodePointGoesUpByOne() {
        assertThat(History.successor("a-"), is("a."));
        assertThat(History.successor("k"), is("l"));
        assertThat(History.successor("é"), is("ê"));
    }

    @Test
    void theHighestCodePointCarriesToTheOneBefore() {
        assertThat(History.successor("a" + Character.toString(Character.MAX_CODE_POINT)), is("b"));
        assertThat(History.successor(Character.toString(Character.MAX_CODE_POINT)), is(nullValue()));
    }

    @Test
    void anEmptyPrefixHasNoUpperBound() {
        assertThat(History.successor(""), is(nullValue()));
    }

    @Test
    void surrogatesAreSkippedSinceNoTextHoldsThem() {
        assertThat(History.successor("\uD7FF"), is("\uE000"));
        assertThat(History.successor("x\uD83D\uDE00"), is("x\uD83D\uDE01"));
    }
}
