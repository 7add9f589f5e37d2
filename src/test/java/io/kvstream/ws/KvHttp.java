package io.kvstream.ws;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.IntStream;

import io.kvstream.wire.Json;

/** Writes through a node's real HTTP API, as a user would. */
public final class KvHttp {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private KvHttp() {
    }

    /** PUT and wait for the answer; returns the revision of the change. */
    public static long put(int port, String key, String value) {
        HttpResponse<String> response = send(HttpRequest.newBuilder(values(port, key))
                                                     .PUT(HttpRequest.BodyPublishers.ofString(value)).build());
        return revision(response);
    }

    /** PUTs {@code count} values of 1000 KiB each, as {@code keyPrefix0} …; returns their revisions in order. */
    public static List<Long> putLarge(int port, String keyPrefix, int count) {
        String large = "x".repeat(1000 * 1024);
        return IntStream.range(0, count).mapToObj(i -> put(port, keyPrefix + i, large)).toList();
    }

    /** PUT with {@code Prefer: respond-async}: enqueued only, answered 202. */
    public static void putAsync(int port, String key, String value) {
        HttpResponse<String> response = send(HttpRequest.newBuilder(values(port, key))
                                                     .header("Prefer", "respond-async")
                                                     .PUT(HttpRequest.BodyPublishers.ofString(value)).build());
        if (response.statusCode() != 202) {
            throw new AssertionError("PUT " + key + " answered " + response.statusCode() + ": " + response.body());
        }
    }

    /** DELETE of an existing key; returns the revision of the change. */
    public static long delete(int port, String key) {
        return revision(send(HttpRequest.newBuilder(values(port, key)).DELETE().build()));
    }

    public static HttpResponse<String> get(URI uri) {
        return send(HttpRequest.newBuilder(uri).GET().build());
    }


    private static URI values(int port, String key) {
        return URI.create("http://127.0.0.1:" + port + "/values/"
                          + URLEncoder.encode(key, StandardCharsets.UTF_8).replace("+", "%20"));
    }

    private static long revision(HttpResponse<String> response) {
        if (response.statusCode() != 200) {
            throw new AssertionError(response.request().method() + " " + response.request().uri() + " answered "
                                     + response.statusCode() + ": " + response.body());
        }
        return Json.read(response.body(), com.fasterxml.jackson.databind.JsonNode.class).path("revision").asLong();
    }

    /** Sends and returns the answer as it is, whatever its status. */
    public static HttpResponse<String> send(HttpRequest request) {
        try {
            return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
