package io.kvstream.ws;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

import io.helidon.common.uri.UriQuery;

/**
 * Which domain events a client of {@code /events} wants: {@code ?prefix=P} (keys starting with P), {@code ?key=K}
 * (that key only), or all. Both are read from the raw query, percent-decoded as strict UTF-8 under the API's key
 * rules (at most 256 bytes, no {@code /}, no control characters); {@code prefix} may be empty (all keys).
 * Connection events are never filtered.
 *
 * @param prefix the prefix, or null
 * @param key    the key, or null
 */
record EventFilter(String prefix, String key) {
    static final EventFilter ALL = new EventFilter(null, null);
    private static final int MAX_KEY_BYTES = 256;

    /** The filter a query asks for; {@link IllegalArgumentException} with the client's message if it is invalid. */
    static EventFilter of(UriQuery query) {
        boolean hasPrefix = query.contains("prefix");
        boolean hasKey = query.contains("key");
        if (hasPrefix && hasKey) {
            throw new IllegalArgumentException("prefix and key cannot be used together");
        }
        if (hasKey) {
            String key = decode("key", query.getRaw("key"));
            if (key.isEmpty()) {
                throw new IllegalArgumentException("key is empty");
            }
            return new EventFilter(null, key);
        }
        return hasPrefix ? new EventFilter(decode("prefix", query.getRaw("prefix")), null) : ALL;
    }

    boolean all() {
        return prefix == null && key == null;
    }

    boolean matches(String eventKey) {
        return key != null ? key.equals(eventKey) : prefix == null || eventKey.startsWith(prefix);
    }

    private static String decode(String name, String raw) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                if (i + 2 >= raw.length() || !HexFormat.isHexDigit(raw.charAt(i + 1))
                    || !HexFormat.isHexDigit(raw.charAt(i + 2))) {
                    throw new IllegalArgumentException(name + " has a bad percent-encoding");
                }
                bytes.write(HexFormat.fromHexDigits(raw, i + 1, i + 3));
                i += 2;
            } else if (c <= 0xff) {
                // a raw byte of the request target (ISO-8859-1, as the server reads it)
                bytes.write(c);
            } else {
                throw new IllegalArgumentException(name + " has a bad percent-encoding");
            }
        }
        if (bytes.size() > MAX_KEY_BYTES) {
            throw new IllegalArgumentException(name + " is at most " + MAX_KEY_BYTES + " bytes of UTF-8");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toByteArray()))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(name + " is not valid UTF-8");
        }
        if (text.indexOf('/') >= 0 || text.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new IllegalArgumentException(name + " cannot contain '/', NUL or another control character");
        }
        return text;
    }
}
