package io.kvstream.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvstream.wire.Json;

/** {@code POST /txn} through a node's real HTTP API, and the JSON bodies to send. */
public final class TxnHttp {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private TxnHttp() {
    }

    /** Posts the transaction and returns the 200 answer's body; any other status fails the test. */
    public static JsonNode txn(int port, String body) {
        HttpResponse<String> response = post(port, body);
        if (response.statusCode() != 200) {
            throw new AssertionError("POST /txn " + body + " answered " + response.statusCode() + ": "
                                     + response.body());
        }
        return Json.read(response.body(), JsonNode.class);
    }

    public static HttpResponse<String> post(int port, String body) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/txn"))
                                     .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                             HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** {@code {"op":"put","key":...,"value":...}} */
    public static String put(String key, String value) {
        return "{\"op\":\"put\",\"key\":" + quote(key) + ",\"value\":" + quote(value) + "}";
    }

    /** {@code {"op":"delete","key":...}} */
    public static String delete(String key) {
        return "{\"op\":\"delete\",\"key\":" + quote(key) + "}";
    }

    /** {@code {"key":...,"revision":...}} */
    public static String compare(String key, long revision) {
        return "{\"key\":" + quote(key) + ",\"revision\":" + revision + "}";
    }

    public static String quote(String text) {
        return Json.writeString(text);
    }
}
