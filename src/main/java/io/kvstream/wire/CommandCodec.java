package io.kvstream.wire;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import io.kvstream.domain.Command;

/**
 * Commands on the command queue: a message holds one command as a JSON object, or several from one API process as
 * a JSON array. The sender of a synchronous command names its reply queue ({@code reply_to}) and says, in a header,
 * that it learns of an applied outcome from the command's own domain event, so the worker replies only otherwise.
 */
public final class CommandCodec {
    public static final String REPLY_HEADER = "kvstream-reply";
    public static final String REPLY_UNLESS_APPLIED = "unless-applied";
    static final Map<String, Object> REPLY_UNLESS_APPLIED_HEADERS = Map.of(REPLY_HEADER, REPLY_UNLESS_APPLIED);

    private CommandCodec() {
    }

    static byte[] encode(List<Command> commands) {
        return commands.size() == 1 ? Json.write(commands.getFirst()) : Json.write(commands);
    }

    /**
     * The commands of a message, {@code null} where an array holds one; a malformed message throws
     * {@link IllegalArgumentException}.
     */
    static List<Command> decode(byte[] body) {
        return Arrays.asList(Json.startsArray(body) ? Json.read(body, Command[].class)
                                                    : new Command[] {Json.read(body, Command.class)});
    }

    static boolean repliesUnlessApplied(Map<String, Object> headers) {
        return headers != null && REPLY_UNLESS_APPLIED.equals(String.valueOf(headers.get(REPLY_HEADER)));
    }
}
