package io.kvstream.wire;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.concurrent.TimeoutException;

import com.rabbitmq.client.Channel;

/** Closing a channel at shutdown, when a failure to close it changes nothing. */
final class Channels {
    private static final System.Logger LOG = System.getLogger(Channels.class.getName());

    private Channels() {
    }

    static void closeQuietly(Channel channel) {
        try {
            if (channel != null && channel.isOpen()) {
                channel.close();
            }
        } catch (IOException | TimeoutException | RuntimeException e) {
            LOG.log(Level.DEBUG, "Closing channel", e);
        }
    }
}
