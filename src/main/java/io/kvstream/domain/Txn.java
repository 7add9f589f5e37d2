package io.kvstream.domain;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Stream;

/**
 * What a transaction command carries ({@code POST /txn}): if every compare holds (the key's mod revision equals the
 * given one, {@code 0}: the key is absent), the {@code success} changes apply, else the {@code failure} changes; all
 * in one commit, with consecutive revisions.
 */
public record Txn(List<Compare> compare, List<Change> success, List<Change> failure) {
    /** etcd's default {@code --max-txn-ops}: compares, and changes of each branch, at most. */
    public static final int MAX_OPS = 128;

    public record Compare(String key, long revision) {
        public boolean holds(Long current) {
            return revision == (current == null ? 0L : current);
        }
    }

    /** A put ({@code value} set) or a delete of one key. */
    public record Change(Command.Op op, String key, String value) {
        public boolean puts() {
            return op == Command.Op.PUT;
        }

        boolean wellFormed() {
            return key != null && !key.isEmpty()
                   && (op == Command.Op.PUT && value != null || op == Command.Op.DELETE && value == null);
        }
    }

    /** Every key the transaction reads or writes. */
    public Stream<String> keys() {
        return Stream.of(compare.stream().map(Compare::key), success.stream().map(Change::key),
                         failure.stream().map(Change::key)).flatMap(s -> s).distinct();
    }

    /** The changes to apply, given whether every compare held. */
    public List<Change> branch(boolean succeeded) {
        return succeeded ? success : failure;
    }

    boolean wellFormed() {
        return compare != null && success != null && failure != null
               && compare.size() <= MAX_OPS && success.size() <= MAX_OPS && failure.size() <= MAX_OPS
               && compare.stream().allMatch(c -> c != null && c.key() != null && !c.key().isEmpty() && c.revision() >= 0)
               && distinctKeys(success) && distinctKeys(failure);
    }

    private static boolean distinctKeys(List<Change> changes) {
        Set<String> keys = new HashSet<>();
        return changes.stream().allMatch(c -> c != null && c.wellFormed() && keys.add(c.key()));
    }

    /** Characters of keys and values, what a message carrying it weighs. */
    int chars() {
        return Stream.of(compare.stream().map(Compare::key), success.stream().flatMap(c -> Stream.of(c.key(), c.value())),
                         failure.stream().flatMap(c -> Stream.of(c.key(), c.value())))
                .flatMap(s -> s).filter(Objects::nonNull).mapToInt(String::length).sum();
    }
}
