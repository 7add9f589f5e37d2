package io.kvstream.wire;

import java.io.IOException;
import java.io.UncheckedIOException;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;

/** The one JSON mapper for messages on the wire; records map to objects, null fields are left out. */
public final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .setSerializationInclusion(JsonInclude.Include.NON_NULL)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /**
     * For a client's document: content after it, or a member named twice, makes it malformed, so that a body has one
     * meaning (a last-wins duplicate key is what a request smuggled past a checking proxy would use).
     */
    private static final ObjectReader STRICT = MAPPER.reader()
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .with(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private Json() {
    }

    /** Reads a client's document strictly ({@link #STRICT}); a malformed one throws {@link IllegalArgumentException}. */
    public static <T> T readStrict(byte[] json, Class<T> type) {
        try {
            return STRICT.readValue(json, type);
        } catch (IOException e) {
            throw new IllegalArgumentException("Malformed " + type.getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    public static byte[] write(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String writeString(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** True if the document is a JSON array (its first non-blank byte is '['). */
    public static boolean startsArray(byte[] json) {
        for (byte b : json) {
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                return b == '[';
            }
        }
        return false;
    }

    /** Reads a message; a malformed one throws {@link IllegalArgumentException}. */
    public static <T> T read(byte[] json, Class<T> type) {
        try {
            return MAPPER.readValue(json, type);
        } catch (IOException e) {
            throw new IllegalArgumentException("Malformed " + type.getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    public static <T> T read(String json, Class<T> type) {
        try {
            return MAPPER.readValue(json, type);
        } catch (IOException e) {
            throw new IllegalArgumentException("Malformed " + type.getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    /**
     * The bytes of {@code text} as a JSON string in UTF-8, quotes aside: a control character is escaped to six bytes
     * ({@code \u0001}) or, if it has a short escape, two, as are {@code "} and {@code \}.
     */
    public static long stringLength(String text) {
        long bytes = text.length();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x20) {
                bytes += c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r' ? 1 : 5;
            } else if (c == '"' || c == '\\') {
                bytes += 1;
            } else if (c >= 0x80) {
                // Two bytes below U+0800, three above; a surrogate pair's four are two per unit.
                bytes += c < 0x800 || Character.isSurrogate(c) ? 1 : 2;
            }
        }
        return bytes;
    }
}
