package io.kvstream.testing;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvstream.domain.Entry;
import io.kvstream.wire.Json;
import io.kvstream.ws.KvHttp;

/** What an API process serves, read through its HTTP API as a client or an operator would. */
public record HttpProbe(int port) {
    /** The revision this process's replica has applied (API and all roles). */
    public long revision() {
        return list(null).path("revision").asLong();
    }

    /** The key's value and mod revision as this process serves it, if it has the key. */
    public Optional<Entry> value(String key) {
        String path = "/values/" + URLEncoder.encode(key, StandardCharsets.UTF_8).replace("+", "%20");
        HttpResponse<String> response = KvHttp.get(URI.create("http://127.0.0.1:" + port + path));
        if (response.statusCode() == 404) {
            return Optional.empty();
        }
        String etag = response.headers().firstValue("ETag").orElseThrow();
        return Optional.of(new Entry(Json.read(response.body(), JsonNode.class).path("value").asText(),
                                     Long.parseLong(etag.replace("\"", ""))));
    }

    /** Every key this process serves, read page by page through the listing. */
    public Map<String, Entry> contents() {
        Map<String, Entry> values = new TreeMap<>();
        String after = null;
        while (true) {
            JsonNode page = list(after);
            page.path("values").forEach(v -> values.put(v.path("key").asText(),
                                                         new Entry(v.path("value").asText(), v.path("revision").asLong())));
            if (page.path("next").isMissingNode() || page.path("next").isNull()) {
                return values;
            }
            after = page.path("next").asText();
        }
    }

    private JsonNode list(String after) {
        String query = "?limit=1000" + (after == null ? "" : "&after=" + URLEncoder.encode(after, StandardCharsets.UTF_8));
        HttpResponse<String> response = KvHttp.get(URI.create("http://127.0.0.1:" + port + "/values" + query));
        if (response.statusCode() != 200) {
            throw new AssertionError("GET /values" + query + " answered " + response.statusCode());
        }
        return Json.read(response.body(), JsonNode.class);
    }
}
