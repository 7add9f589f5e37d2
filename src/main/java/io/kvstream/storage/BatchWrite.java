package io.kvstream.storage;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import io.kvstream.domain.CommandOutcome;
import io.kvstream.domain.DomainEvent;

/** What one batch transaction writes: its events (each key's last one is its final state) and new outcomes. */
public interface BatchWrite {
    /** The revision after the batch: that of its last event, or the one it was decided at. */
    long revision();

    /** The commit time of every event of the batch. */
    Instant at();

    /** In revision order, consecutive after the revision the batch was decided at. */
    List<DomainEvent> events();

    /** The outcomes of the commands not committed before, remembered so a redelivery gets them again. */
    List<CommandOutcome> recorded();

    /** The request fingerprints of the recorded commands that have one, by command id. */
    Map<String, String> fingerprints();
}
