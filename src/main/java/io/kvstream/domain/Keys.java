package io.kvstream.domain;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * What a key is: 1 to {@value #MAX_BYTES} bytes of UTF-8 with no {@code /}, NUL or other control character
 * (U+0000-U+001F, U+007F); and how one is read from a percent-encoded part of a request target (a path segment, a
 * query parameter) as strict UTF-8, whose raw characters are bytes (ISO-8859-1, as the server reads them).
 */
public final class Keys {
    public static final int MAX_BYTES = 256;

    /** Why a text is not a key; each reads after a subject: "The key is not valid UTF-8". */
    public enum Problem {
        BAD_ENCODING("has invalid percent-encoding"),
        TOO_LONG("is at most " + MAX_BYTES + " bytes of UTF-8"),
        NOT_UTF8("is not valid UTF-8"),
        SLASH("cannot contain '/'"),
        CONTROL_CHARACTER("cannot contain NUL or another control character (U+0000-U+001F, U+007F)");

        private final String predicate;

        Problem(String predicate) {
            this.predicate = predicate;
        }

        public String describe(String subject) {
            return subject + " " + predicate;
        }
    }

    /** A text that is not a key. */
    public static final class InvalidKeyException extends IllegalArgumentException {
        private final Problem problem;

        private InvalidKeyException(Problem problem) {
            super(problem.describe("The key"));
            this.problem = problem;
        }

        public Problem problem() {
            return problem;
        }
    }

    /**
     * The form of a key whose {@link String#compareTo} order is the order of the keys' UTF-8 bytes, that is of their
     * code points: PostgreSQL's order under {@code COLLATE "C"}, and etcd's. UTF-16 order puts the characters from
     * U+10000 up (surrogate pairs) before those of U+E000 to U+FFFF; this form moves the surrogates above those, one
     * unit for one, so prefixes stay prefixes. A key without a unit from U+D800 up is its own form, the same instance:
     * sorted maps keyed by the form keep {@code String}'s intrinsic comparison and no copy of the common key.
     */
    public static String sortForm(String key) {
        return mapUnitsFromD800(key, true);
    }

    /** The key of a {@link #sortForm}. */
    public static String fromSortForm(String form) {
        return mapUnitsFromD800(form, false);
    }

    private static String mapUnitsFromD800(String text, boolean toSortForm) {
        int first = 0;
        while (first < text.length() && text.charAt(first) < Character.MIN_SURROGATE) {
            first++;
        }
        if (first == text.length()) {
            return text;
        }
        char[] units = text.toCharArray();
        for (int i = first; i < units.length; i++) {
            char unit = units[i];
            if (unit >= Character.MIN_SURROGATE) {
                units[i] = toSortForm ? (char) (Character.isSurrogate(unit) ? unit + 0x2000 : unit - 0x800)
                                      : (char) (unit >= 0xF800 ? unit - 0x2000 : unit + 0x800);
            }
        }
        return new String(units);
    }

    private Keys() {
    }

    /**
     * {@link #decode} for a key or prefix given as a query parameter, which is form-encoded: {@code +} is a space
     * there, as every form encoder writes one (a plus sign is {@code %2B}); in a path it is itself.
     */
    public static String decodeQueryParameter(String raw) {
        return decode(raw.replace("+", "%20"));
    }

    /** Percent-decodes {@code raw} and checks every key rule but emptiness (a prefix may be empty). */
    public static String decode(String raw) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                int hi = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 1), 16) : -1;
                int lo = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 2), 16) : -1;
                if (hi < 0 || lo < 0) {
                    throw new InvalidKeyException(Problem.BAD_ENCODING);
                }
                bytes.write(hi << 4 | lo);
                i += 2;
            } else if (c > 0xff) {
                throw new InvalidKeyException(Problem.BAD_ENCODING);
            } else {
                bytes.write(c);
            }
        }
        if (bytes.size() > MAX_BYTES) {
            throw new InvalidKeyException(Problem.TOO_LONG);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toByteArray()))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new InvalidKeyException(Problem.NOT_UTF8);
        }
        Problem problem = forbiddenCharacter(text);
        if (problem != null) {
            throw new InvalidKeyException(problem);
        }
        return text;
    }

    /** What is wrong with a key given as text (in a JSON body, say), or null if it is a key. */
    public static String problem(String key) {
        if (key.isEmpty()) {
            return "The key is empty";
        }
        if (!StandardCharsets.UTF_8.newEncoder().canEncode(key)) {
            return Problem.NOT_UTF8.describe("The key");
        }
        if (key.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
            return Problem.TOO_LONG.describe("A key");
        }
        Problem problem = forbiddenCharacter(key);
        return problem == null ? null : problem.describe("A key");
    }

    private static Problem forbiddenCharacter(String text) {
        if (text.indexOf('/') >= 0) {
            return Problem.SLASH;
        }
        return text.chars().anyMatch(c -> c < 0x20 || c == 0x7f) ? Problem.CONTROL_CHARACTER : null;
    }
}
