package io.kvstream.role;

import io.kvstream.command.CommandBus;
import io.kvstream.event.EventSequencer;
import io.kvstream.replica.Replica;
import io.kvstream.ws.EventsEndpoint;

/**
 * The order in which a process's parts hear each event, which read-your-writes depends on: the replica applies it
 * first, so that the writer waiting for it (answered next) and every stream client (told last) can read the change
 * from this process the moment they learn of it. A part the role does not run is {@code null}.
 */
final class ListenerOrder {
    private ListenerOrder() {
    }

    static void listen(EventSequencer feed, Replica replica, CommandBus writers, EventsEndpoint stream) {
        if (replica != null) {
            feed.addListener(replica);
        }
        if (writers != null) {
            feed.addListener(writers::applied);
        }
        if (stream != null) {
            feed.addListener(stream);
        }
    }
}
