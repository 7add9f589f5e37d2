package io.kvstream.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Requests sent byte for byte over a raw socket, so that no client library "fixes" a malformed one. The socket's
 * output is shut down after the bytes (the server sees EOF where the request ends), and the answer is read until
 * the server closes; a hang fails the test through the socket timeout.
 */
public final class RawHttp {
    private RawHttp() {
    }

    /** What came back: status -1 when the server closed without a status line. */
    public record Response(int status, Map<String, String> headers, String body) {
        public Optional<String> header(String name) {
            return Optional.ofNullable(headers.get(name.toLowerCase(Locale.ROOT)));
        }
    }

    /** A WebSocket upgrade request for {@code target} (e.g. {@code /events?since=3}), with extra header lines. */
    public static String upgrade(String target, String extraHeaders) {
        return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + extraHeaders + "\r\n";
    }

    public static Response send(int port, String request) throws IOException {
        return send(port, request.getBytes(StandardCharsets.ISO_8859_1));
    }

    public static Response send(int port, byte[] request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(15_000);
            OutputStream out = socket.getOutputStream();
            try {
                out.write(request);
                out.flush();
                socket.shutdownOutput();
            } catch (IOException e) {
                // The server may answer and close before reading an oversized request: read what it said.
            }
            return parse(readAll(socket.getInputStream()));
        }
    }

    /**
     * Sends {@code request} and keeps its side open, as a client waiting for the answer does: returns all that
     * arrives until the server ends the connection, or throws {@link java.net.SocketTimeoutException} after 15 s of
     * silence (the server kept the connection open).
     */
    public static String sendKeepingOpen(int port, String request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(15_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            return new String(readAll(socket.getInputStream()), StandardCharsets.ISO_8859_1);
        }
    }

    /** Reads until EOF; a reset after the server's answer (it closed while we still wrote) ends the read too. */
    public static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        try {
            int n;
            while ((n = in.read(buffer)) != -1) {
                received.write(buffer, 0, n);
            }
        } catch (java.net.SocketException e) {
            // connection reset: keep what arrived
        }
        return received.toByteArray();
    }

    /**
     * A client that sends {@code request} and then never reads: its receive window is small (set before connecting,
     * so it is not autotuned), and the server's sends to it soon block.
     */
    public static Socket stuckReader(int port, String request) throws IOException {
        Socket socket = new Socket();
        socket.setReceiveBufferSize(4096);
        socket.connect(new java.net.InetSocketAddress("127.0.0.1", port));
        socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
        return socket;
    }

    /** True when the server ended the connection (end of stream or reset); false when it is still open. */
    public static boolean readsToTheEnd(Socket socket) throws IOException {
        byte[] buffer = new byte[64 * 1024];
        try {
            while (socket.getInputStream().read(buffer) != -1) {
                // what was already in the socket buffers
            }
            return true;
        } catch (java.net.SocketTimeoutException stillOpen) {
            return false;
        } catch (java.net.SocketException reset) {
            return true;
        }
    }

    public static Response parse(byte[] bytes) {
        String text = new String(bytes, StandardCharsets.ISO_8859_1);
        int headEnd = text.indexOf("\r\n\r\n");
        if (!text.startsWith("HTTP/1.1 ") || headEnd < 0) {
            return new Response(-1, Map.of(), text);
        }
        String[] lines = text.substring(0, headEnd).split("\r\n");
        Map<String, String> headers = new TreeMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            // A header sent on several lines is one comma-separated list (RFC 9110 section 5.3).
            headers.merge(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
                          lines[i].substring(colon + 1).trim(), (first, next) -> first + ", " + next);
        }
        String body = new String(bytes, headEnd + 4, bytes.length - headEnd - 4, StandardCharsets.UTF_8);
        return new Response(Integer.parseInt(lines[0].split(" ")[1]), headers, body);
    }
}
