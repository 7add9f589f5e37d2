package io.kvstream.role;

import io.kvstream.event.EventSequencer;
import io.kvstream.event.EventSequencer.Listener;

/**
 * The order in which a process's parts hear each event, which read-your-writes depends on: the replica applies it
 * first, so that the writer waiting for it (answered next) and every stream client (told last) can read the change
 * from this process the moment they learn of it. A part the role does not run is {@code null}.
 */
final class ListenerOrder {
    private ListenerOrder() {
    }

    static void listen(EventSequencer feed, Listener replica, Listener writers, Listener stream) {
        if (replica != null) {
            feed.addListener(replica);
        }
        if (writers != null) {
            feed.addListener(writers);
        }
        if (stream != null) {
            feed.addListener(stream);
        }
    }
}
