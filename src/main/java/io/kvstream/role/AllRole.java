package io.kvstream.role;

import java.util.List;

import io.kvstream.auth.Authenticator;
import io.kvstream.command.CommandBus;
import io.kvstream.config.Settings;
import io.kvstream.event.EventSequencer;
import io.kvstream.replica.Replica;
import io.kvstream.worker.CommandConsumer;
import io.kvstream.ws.EventsEndpoint;

/**
 * The all-in-one role ({@code kvstream.role=all}, the local default): worker, API, landing page and {@code /events}
 * in one process, on one port, sharing one replica and one event feed.
 */
public final class AllRole {
    private AllRole() {
    }

    /** Returns with the replica loaded. */
    public static RunningRole start(Settings settings) {
        return RunningRole.assemble(settings, parts -> {
            EventSequencer feed = parts.subscribe();
            // The process's own commits reach its replica, its waiting writers and its stream straight from its
            // worker, and its synchronous writes reach the worker without the broker; the broker still carries
            // the events to every other process, and the commands nobody waits for.
            CommandConsumer worker = parts.startWorker(feed::offerAll);
            Replica replica = parts.replica();
            CommandBus writers = parts.commandBus(worker::handOver);
            Authenticator auth = new Authenticator(settings.auth());
            EventsEndpoint stream = parts.stream(feed, auth);
            ListenerOrder.listen(feed, replica, writers::applied, stream);
            feed.start(replica.load(), replica::load);
            return new RunningRole.Serving(routing -> parts.apiRoutes(routing, replica, writers, auth), stream,
                                           parts.servingReadiness(replica), List.of(parts.openApi()));
        });
    }
}
