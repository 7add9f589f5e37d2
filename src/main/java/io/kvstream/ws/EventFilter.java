package io.kvstream.ws;

import io.helidon.common.uri.UriQuery;
import io.kvstream.domain.Keys;
import io.kvstream.http.QueryParameters;

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

    /** The filter a query asks for; {@link IllegalArgumentException} with the client's message if it is invalid. */
    static EventFilter of(UriQuery query) {
        boolean hasPrefix = QueryParameters.givenOnce(query, "prefix");
        boolean hasKey = QueryParameters.givenOnce(query, "key");
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
        try {
            return Keys.decodeQueryParameter(raw);
        } catch (Keys.InvalidKeyException e) {
            throw new IllegalArgumentException(e.problem().describe(name));
        }
    }
}
