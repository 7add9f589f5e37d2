package io.kvstream.domain;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.sameInstance;
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

    /** PostgreSQL (COLLATE "C") and etcd order keys by their UTF-8 bytes; so does every listing of a replica. */
    @Test
    void sortFormsSortByTheUtf8BytesOfTheirKeys() {
        String emoji = "\uD83D\uDE00";   // U+1F600, a surrogate pair in UTF-16
        String privateUse = "\uE000";     // above every surrogate unit, below U+1F600
        List<String> forms = new ArrayList<>(
                Stream.of(emoji + "a", privateUse, "~", "a", emoji, "é").map(Keys::sortForm).toList());
        Collections.sort(forms);
        assertThat(forms.stream().map(Keys::fromSortForm).toList(),
                   contains("a", "~", "é", privateUse, emoji, emoji + "a"));
        assertThat(Keys.sortForm("plain-é"), is(sameInstance("plain-é")));
    }

    @Property(tries = 2000)
    void sortFormOrderIsTheOrderOfTheUtf8Bytes(@ForAll("texts") String a, @ForAll("texts") String b) {
        int bytes = Integer.signum(Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8),
                                                          b.getBytes(StandardCharsets.UTF_8)));
        assertThat(a + " vs " + b, Integer.signum(Keys.sortForm(a).compareTo(Keys.sortForm(b))), is(bytes));
        assertThat(Keys.fromSortForm(Keys.sortForm(a)), is(a));
        assertThat(Keys.sortForm(a + b).startsWith(Keys.sortForm(a)), is(true));
    }

    /** Short texts of whole code points, mostly from the places where UTF-16 and UTF-8 order part ways. */
    @Provide
    Arbitrary<String> texts() {
        Arbitrary<Integer> codePoint = Arbitraries.oneOf(
                Arbitraries.integers().between(0x20, 0x7e),
                Arbitraries.integers().between(0xd000, 0xd7ff),
                Arbitraries.integers().between(0xe000, 0xffff),
                Arbitraries.integers().between(0x10000, 0x10ffff));
        return codePoint.list().ofMaxSize(4)
                .map(points -> new String(points.stream().mapToInt(Integer::intValue).toArray(), 0, points.size()));
    }
}
