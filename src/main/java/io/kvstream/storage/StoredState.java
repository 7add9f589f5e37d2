package io.kvstream.storage;

import java.util.Map;

import io.kvstream.domain.CommandOutcome;

/**
 * What a batch's decisions depend on, read under the revision lock: the current revision, the outcomes of those of
 * its commands that were committed before (by id), and the mod revision of each of its keys that exists.
 */
public record StoredState(long revision, Map<String, CommandOutcome> outcomes, Map<String, Long> modRevisions) {
}
