package io.kvstream.replica;

import java.util.List;
import java.util.Map;

import io.kvstream.domain.DomainEvent;
import io.kvstream.domain.Entry;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;

/** The in-memory indexes on their own: point reads and listings agree after updates, deletes and re-inserts. */
class ReplicaTest {
    /** Only events are applied here, so no snapshot is ever read. */
    private final Replica replica = new Replica(null);

    @Test
    void newValueForAnExistingKeyIsSeenByPointReadsAndListings() {
        apply(put("b", "1", 1), put("a", "2", 2), put("b", "3", 3));

        assertThat(replica.get("b"), is(new Entry("3", 3)));
        assertThat(replica.size(), is(2));
        assertThat(page("", null, 10), is(List.of(Map.entry("a", new Entry("2", 2)),
                                                  Map.entry("b", new Entry("3", 3)))));
        assertThat(replica.revision(), is(3L));
    }

    @Test
    void deletedKeyLeavesBothIndexesAndCanComeBack() {
        apply(put("a", "1", 1), put("b", "2", 2), deleted("a", 3));

        assertThat(replica.get("a"), is(nullValue()));
        assertThat(replica.size(), is(1));
        assertThat(page("", null, 10), is(List.of(Map.entry("b", new Entry("2", 2)))));

        apply(put("a", "4", 4));
        assertThat(replica.get("a"), is(new Entry("4", 4)));
        assertThat(replica.size(), is(2));
        assertThat(page("", null, 10), is(List.of(Map.entry("a", new Entry("4", 4)),
                                                  Map.entry("b", new Entry("2", 2)))));
    }

    @Test
    void deleteOfAMissingKeyChangesNothingButTheRevision() {
        apply(put("a", "1", 1), deleted("zz", 2));

        assertThat(replica.size(), is(1));
        assertThat(replica.revision(), is(2L));
    }

    @Test
    void listingPagesBySortedKeyWithPrefixAndAfter() {
        apply(put("k3", "c", 1), put("j1", "x", 2), put("k1", "a", 3), put("k2", "b", 4), put("k1", "a2", 5));

        Replica.Page first = replica.list("k", null, 2);
        assertThat(first.values().stream().map(Map.Entry::getKey).toList(), is(List.of("k1", "k2")));
        assertThat(first.values().getFirst().getValue(), is(new Entry("a2", 5)));
        assertThat(first.next(), is("k2"));
        Replica.Page second = replica.list("k", first.next(), 2);
        assertThat(second.values().stream().map(Map.Entry::getKey).toList(), is(List.of("k3")));
        assertThat(second.next(), is(nullValue()));
        assertThat(second.revision(), is(5L));
    }

    /**
     * A page ends before the key that would take its keys and values past the bound in UTF-8 bytes (the first key
     * always fits), and {@code next} says that more follow.
     */
    @Test
    void listingPagesEndAtTheirBoundInBytes() {
        // Keys of 2 bytes; values of 3 bytes ("abc", "\u00e9b": é is 2 bytes, "\u20ac": € is 3).
        apply(put("k1", "abc", 1), put("k2", "\u00e9b", 2), put("k3", "\u20ac", 3), put("k4", "abcdefgh", 4));

        Replica.Page first = replica.list("k", null, 10, 10);
        assertThat(first.values().stream().map(Map.Entry::getKey).toList(), is(List.of("k1", "k2")));
        assertThat(first.next(), is("k2"));
        Replica.Page second = replica.list("k", first.next(), 10, 10);
        assertThat(second.values().stream().map(Map.Entry::getKey).toList(), is(List.of("k3")));
        assertThat(second.next(), is("k3"));
        Replica.Page alone = replica.list("k", second.next(), 10, 1);
        assertThat("the first key always fits", alone.values().stream().map(Map.Entry::getKey).toList(),
                   is(List.of("k4")));
        assertThat(alone.next(), is(nullValue()));
    }

    @Test
    void listingPagesCountTheirValuesAsJson() {
        // As JSON: "\u0001" is 6 bytes, "\"" and "\n" 2, "a" 1; with a 2-byte key each entry is 8, 4, 4, 3 bytes.
        apply(put("e1", "\u0001", 1), put("e2", "\"", 2), put("e3", "\n", 3), put("e4", "a", 4));

        assertThat(replica.list("e", null, 10, 8).values().stream().map(Map.Entry::getKey).toList(),
                   is(List.of("e1")));
        assertThat(replica.list("e", "e1", 10, 8).values().stream().map(Map.Entry::getKey).toList(),
                   is(List.of("e2", "e3")));
        assertThat(replica.list("e", "e1", 10, 11).values().stream().map(Map.Entry::getKey).toList(),
                   is(List.of("e2", "e3", "e4")));
    }

    private List<Map.Entry<String, Entry>> page(String prefix, String after, int limit) {
        return replica.list(prefix, after, limit).values();
    }

    private void apply(DomainEvent... events) {
        for (DomainEvent event : events) {
            replica.onEvent(event);
        }
    }

    private static DomainEvent put(String key, String value, long revision) {
        return DomainEvent.put(key, value, revision, "c" + revision, "2026-11-25T00:00:00Z");
    }

    private static DomainEvent deleted(String key, long revision) {
        return DomainEvent.deleted(key, revision, "c" + revision, "2026-11-25T00:00:00Z");
    }
}
