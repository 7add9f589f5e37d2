package io.kvstream.role;

import java.util.List;

import io.kvstream.auth.Authenticator;
import io.kvstream.command.CommandBus;
import io.kvstream.config.Settings;
import io.kvstream.event.EventSequencer;
import io.kvstream.replica.Replica;

/**
 * The API role ({@code kvstream.role=api}, scaled out): serves {@code /values}, the landing page and
 * {@code /replica} from its replica, and sends writes to the workers.
 */
public final class ApiRole {
    private ApiRole() {
    }

    /** Returns with the replica loaded. */
    public static RunningRole start(Settings settings) {
        return RunningRole.assemble(settings, parts -> {
            EventSequencer feed = parts.subscribe();
            Replica replica = parts.replica();
            CommandBus writers = parts.commandBus();
            Authenticator auth = new Authenticator(settings.auth());
            ListenerOrder.listen(feed, replica, writers::applied, null);
            feed.start(replica.load(), replica::load);
            return new RunningRole.Serving(routing -> parts.apiRoutes(routing, replica, writers, auth), null,
                                           parts.servingReadiness(replica), List.of(parts.openApi()));
        });
    }
}
