package io.kvstream.http;

import io.helidon.common.uri.UriQuery;

/** The rule every endpoint applies to its query parameters. */
public final class QueryParameters {
    private QueryParameters() {
    }

    /**
     * Whether query parameter {@code name} is given; more than once is refused with {@link IllegalArgumentException}
     * saying so: which one the client meant is not the server's to guess.
     */
    public static boolean givenOnce(UriQuery query, String name) {
        if (!query.contains(name)) {
            return false;
        }
        if (query.all(name).size() > 1) {
            throw new IllegalArgumentException("Send " + name + " once");
        }
        return true;
    }
}
