package io.kvstream.embedded;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Picks a port for an embedded server; the small race until the server binds it is accepted for local use. */
final class FreePort {

    private FreePort() {
    }

    static int orPick(int port) throws IOException {
        if (port > 0) {
            return port;
        }
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return socket.getLocalPort();
        }
    }
}
