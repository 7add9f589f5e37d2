package io.kvstream.domain;

import java.util.Arrays;
import java.util.Optional;

/** An enum constant's name in JSON and in the database, which the model's enums keep apart from the Java name. */
interface WireName {
    String wireName();

    /** The constant of {@code type} with that wire name, if there is one. */
    static <E extends Enum<E> & WireName> Optional<E> find(Class<E> type, String wireName) {
        return Arrays.stream(type.getEnumConstants()).filter(e -> e.wireName().equals(wireName)).findFirst();
    }
}
