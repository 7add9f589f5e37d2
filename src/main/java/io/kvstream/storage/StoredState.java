package io.kvstream.storage;

import java.util.Map;

import io.kvstream.domain.CommandOutcome;

/**
 * What a batch's decisions depend on, read under the revision lock: the current revision, the outcomes of those of
 * its commands that were committed before (by id), the mod revision of each of its keys that exists, and the
 * request fingerprints of those committed commands that have one (by id).
 */
public record StoredState(long revision, Map<String, CommandOutcome> outcomes, Map<String, Long> modRevisions,
                          Map<String, String> fingerprints) {
    public StoredState(long revision, Map<String, CommandOutcome> outcomes, Map<String, Long> modRevisions) {
        this(revision, outcomes, modRevisions, Map.of());
    }

    /** The state as a batch that reads nothing but the revision takes it: none of its commands or keys stored. */
    public static StoredState onlyAt(long revision) {
        return new StoredState(revision, Map.of(), Map.of(), Map.of());
    }
}
