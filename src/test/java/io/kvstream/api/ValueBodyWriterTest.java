package io.kvstream.api;

import java.nio.charset.StandardCharsets;

import io.kvstream.wire.Json;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.CharRange;
import net.jqwik.api.constraints.StringLength;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/** The hand-written GET body must be exactly what Jackson writes, for any key and value. */
class ValueBodyWriterTest {

    @Property(tries = 2000)
    void sameBytesAsJackson(@ForAll @StringLength(max = 40) @CharRange(from = '\u0000', to = '\u00ff')
                            @CharRange(from = '\u2000', to = '\u206f') String key,
                            @ForAll @StringLength(max = 200) @CharRange(from = '\u0000', to = '\u00ff')
                            @CharRange(from = '\u2000', to = '\u206f') String value) {
        assertThat(ValueBodyWriter.write(key, value), is(Json.write(new ValuesService.ValueBody(key, value))));
    }

    @Example
    void plainAsciiIsWrittenVerbatim() {
        assertThat(new String(ValueBodyWriter.write("k-1", "hello world"), StandardCharsets.UTF_8), is("{\"key\":\"k-1\",\"value\":\"hello world\"}"));
    }

    @Example
    void quotesBackslashesAndControlCharactersAreEscaped() {
        assertThat(new String(ValueBodyWriter.write("k\"", "a\\b\n\u0001"), StandardCharsets.UTF_8),
                   is("{\"key\":\"k\\\"\",\"value\":\"a\\\\b\\n\\u0001\"}"));
    }
}
