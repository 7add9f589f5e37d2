package io.kvstream.command;

/**
 * The worker's answer to a command, sent to the command's {@code reply_to} queue.
 * {@code revision} is the new revision for {@code applied}, else the revision the decision was taken at.
 */
public record CommandOutcome(String command, String status, long revision) {
    public static final String APPLIED = "applied";
    /** A delete of a key that does not exist: nothing changed. */
    public static final String UNCHANGED = "unchanged";
    public static final String PRECONDITION_FAILED = "precondition_failed";
    /** The command can never be stored (the database refused it). */
    public static final String REJECTED = "rejected";

    public boolean applied() {
        return APPLIED.equals(status);
    }
}
