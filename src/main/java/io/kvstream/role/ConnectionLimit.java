package io.kvstream.role;

import java.lang.System.Logger.Level;
import java.lang.management.ManagementFactory;

import com.sun.management.UnixOperatingSystemMXBean;
import io.helidon.webserver.WebServerConfig;

/**
 * Keeps {@code server.max-tcp-connections} below the file descriptors the process may open: when accepting fails for
 * want of a descriptor, Helidon 4.5 closes its listening socket and never opens it again, so a flood of connections
 * would end the process's service for good. Room is left for what else the process holds open: its database and
 * broker connections, its jar files and, in the all-in-one default, the embedded servers' sockets.
 */
final class ConnectionLimit {
    private static final System.Logger LOG = System.getLogger(ConnectionLimit.class.getName());
    private static final long OTHER_DESCRIPTORS = 512;

    private ConnectionLimit() {
    }

    static void keepBelowDescriptorLimit(WebServerConfig.Builder server) {
        if (!(ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean os)) {
            return;
        }
        long room = os.getMaxFileDescriptorCount() - OTHER_DESCRIPTORS;
        int configured = server.maxTcpConnections();
        if (configured < 0 || configured > room) {
            int limit = (int) Math.max(1, Math.min(Integer.MAX_VALUE, room));
            LOG.log(Level.WARNING, "server.max-tcp-connections lowered from " + configured + " to " + limit
                                   + ": the process may open " + os.getMaxFileDescriptorCount()
                                   + " file descriptors (ulimit -n)");
            server.maxTcpConnections(limit);
        }
    }
}
