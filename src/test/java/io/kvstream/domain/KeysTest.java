package io.kvstream.domain;

import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The key rules, shared by the path of /values, the filters of /events and the keys of a transaction. */
class KeysTest {
    @Test
    void decodesPercentEncodedUtf8() {
        assertThat(Keys.decode("caf%C3%A9%20au%20lait"), is("café au lait"));
        assertThat(Keys.decode("a;b=c"), is("a;b=c"));
        assertThat(Keys.decode(""), is(""));
        assertThat(Keys.decode("k".repeat(Keys.MAX_BYTES)), is("k".repeat(Keys.MAX_BYTES)));
    }

    @Test
    void refusesWhatIsNotAKeyAndSaysWhy() {
        Map<String, Keys.Problem> refused = Map.of(
                "%G1", Keys.Problem.BAD_ENCODING,
                "abc%4", Keys.Problem.BAD_ENCODING,
                "k".repeat(Keys.MAX_BYTES + 1), Keys.Problem.TOO_LONG,
                "%C3%A9".repeat(Keys.MAX_BYTES / 2 + 1), Keys.Problem.TOO_LONG,
                "%FF", Keys.Problem.NOT_UTF8,
                "a%2Fb", Keys.Problem.SLASH,
                "a%00b", Keys.Problem.CONTROL_CHARACTER,
                "a%7Fb", Keys.Problem.CONTROL_CHARACTER);
        refused.forEach((raw, problem) -> {
            Keys.InvalidKeyException e = assertThrows(Keys.InvalidKeyException.class, () -> Keys.decode(raw));
            assertThat(raw, e.problem(), is(problem));
            assertThat(raw, e.getMessage(), is(problem.describe("The key")));
        });
    }

    @Test
    void aKeyGivenAsTextIsCheckedByTheSameRules() {
        assertThat(Keys.problem("ok"), is(nullValue()));
        assertThat(Keys.problem(""), is("The key is empty"));
        assertThat(Keys.problem("a/b"), is("A key cannot contain '/'"));
        assertThat(Keys.problem("a\tb"), is(Keys.Problem.CONTROL_CHARACTER.describe("A key")));
        assertThat(Keys.problem("é".repeat(Keys.MAX_BYTES / 2 + 1)), is(Keys.Problem.TOO_LONG.describe("A key")));
    }
}
